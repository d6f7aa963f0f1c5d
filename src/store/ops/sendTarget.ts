import type { WebhookFormat } from '../../domain/types.js';
import type { DeliveryTarget } from '../store.js';

/** The columns of a webhook row that say where and how to send. */
export interface SendTargetRow {
  url: string;
  format: string;
  headers: string;
  secret_enc: string | null;
  previous_secret_enc: string | null;
  previous_secret_until: number | string | null;
  signing_key_enc: string | null;
  previous_signing_key_enc: string | null;
  previous_signing_key_until: number | string | null;
}

/**
 * Where and how a delivery is sent, from its webhook's row at `now`: the replaced secret (and
 * ed25519 key) signs too while its rotation grace lasts (docs/delivery.md). One reading for the worker's claims,
 * Test Webhook and probes.
 */
export function sendTarget(w: SendTargetRow, now: number): DeliveryTarget {
  return {
    url: w.url,
    format: w.format as WebhookFormat,
    headers: JSON.parse(w.headers) as Record<string, string>,
    secretEnc: w.secret_enc,
    previousSecretEnc:
      w.previous_secret_until !== null && Number(w.previous_secret_until) > now
        ? w.previous_secret_enc
        : null,
    signingKeysEnc:
      w.signing_key_enc === null
        ? []
        : w.previous_signing_key_enc !== null &&
            w.previous_signing_key_until !== null &&
            Number(w.previous_signing_key_until) > now
          ? [w.signing_key_enc, w.previous_signing_key_enc]
          : [w.signing_key_enc],
  };
}
