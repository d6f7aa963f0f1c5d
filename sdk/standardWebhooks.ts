import { createHmac, timingSafeEqual } from 'node:crypto';
import { isPublicKey, verifyEd25519 } from './publicKey.js';
import { signingKey } from './signingKey.js';
import type { RunhookEvent } from './types.js';

/** Thrown by {@link verifyWebhook} when a delivery must not be trusted. The message says why. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** How far `webhook-timestamp` may be from now, either way. Default 300. `Infinity` disables the check. */
  toleranceSeconds?: number;
  /** The current time in epoch milliseconds, like `Date.now` (the default). */
  now?: () => number;
}

const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Computes a Standard Webhooks signature entry, `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
 * Useful in a receiver's own tests, to build requests that look like Runhook's.
 *
 * @example
 * const ts = Math.floor(Date.now() / 1000);
 * const headers = {
 *   'webhook-id': 'msg_1',
 *   'webhook-timestamp': String(ts),
 *   'webhook-signature': signStandardWebhook(secret, 'msg_1', ts, body),
 * };
 */
export function signStandardWebhook(
  secret: string,
  msgId: string,
  timestampSec: number,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', signingKey(secret))
    .update(`${msgId}.${timestampSec}.`)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * Verifies a Runhook delivery by its Standard Webhooks headers (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) and returns the parsed JSON body.
 *
 * Pass the body exactly as received (before any JSON parsing). `secret` is the webhook's secret
 * (checked against the `v1,` entries) or, for an `ed25519` webhook, its public key `whpk_...`
 * (checked against the `v1a,` entries). It may be a list, for while you rotate secrets or keys;
 * a signature made with any of them is accepted, and so is any one matching entry of the header.
 * Throws {@link WebhookVerificationError} otherwise.
 *
 * For a `clix` or `slack` webhook, name the body's type: `verifyWebhook<ClixPayload>(...)`.
 *
 * @example
 * app.post('/runhook', express.raw({ type: 'application/json' }), (req, res) => {
 *   const event = verifyWebhook(req.body, req.headers, process.env.RUNHOOK_WEBHOOK_SECRET!);
 *   if (event.event === 'test_run_completed') console.log(event.test_run.pass_rate);
 *   res.sendStatus(204);
 * });
 *
 * @example
 * // An ed25519 webhook: verify with the public key the webhook shows (nothing secret to keep).
 * const event = verifyWebhook(req.body, req.headers, 'whpk_CMZ3xIumfXqAsEHEtKIra3/oc3c7T4gY6S2nRgfDYvw=');
 */
export function verifyWebhook<T = RunhookEvent>(
  rawBody: string | Buffer,
  headers: WebhookHeaders,
  secret: string | string[],
  options: VerifyOptions = {},
): T {
  const msgId = readHeader(headers, 'webhook-id');
  const timestampHeader = readHeader(headers, 'webhook-timestamp');
  const signatureHeader = readHeader(headers, 'webhook-signature');

  if (!/^[1-9][0-9]{0,15}$/.test(timestampHeader)) {
    throw new WebhookVerificationError(
      `webhook-timestamp must be Unix time in whole seconds, got ${JSON.stringify(timestampHeader)}`,
    );
  }
  const timestamp = Number(timestampHeader);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSec = Math.floor((options.now ?? Date.now)() / 1000);
  if (nowSec - timestamp > tolerance) {
    throw new WebhookVerificationError(
      `webhook-timestamp is ${nowSec - timestamp} s in the past, more than the ${tolerance} s tolerance`,
    );
  }
  if (timestamp - nowSec > tolerance) {
    throw new WebhookVerificationError(
      `webhook-timestamp is ${timestamp - nowSec} s in the future, more than the ${tolerance} s tolerance`,
    );
  }

  const keys = Array.isArray(secret) ? secret : [secret];
  if (keys.length === 0) throw new WebhookVerificationError('No secret given to verify with');
  const publicKeys = keys.filter(isPublicKey);
  const secrets = keys.filter((k) => !isPublicKey(k));

  // Entries are space-separated; a trailing comma appears when a proxy or `Headers.get` joined
  // repeated headers with ", " (base64 never contains a comma).
  const entries = signatureHeader.split(/\s+/).map((entry) => entry.replace(/,+$/, ''));
  const offered = entries
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'latin1'));
  const offeredAsymmetric = entries
    .filter((entry) => entry.startsWith('v1a,'))
    .map((entry) => entry.slice(4));
  const usable =
    (secrets.length > 0 ? offered.length : 0) + (publicKeys.length > 0 ? offeredAsymmetric.length : 0);
  if (usable === 0) {
    throw new WebhookVerificationError(
      publicKeys.length === 0
        ? 'webhook-signature has no v1 entry'
        : secrets.length === 0
          ? 'webhook-signature has no v1a entry (is the webhook signed with ed25519?)'
          : 'webhook-signature has no v1 or v1a entry',
    );
  }

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  let matched = false;
  for (const candidate of secrets) {
    // Compare base64 text, as the reference implementation does: one canonical encoding per MAC.
    const expected = Buffer.from(signStandardWebhook(candidate, msgId, timestamp, body).slice(3), 'latin1');
    for (const signature of offered) {
      if (signature.length === expected.length && timingSafeEqual(signature, expected)) matched = true;
    }
  }
  if (!matched && publicKeys.length > 0 && offeredAsymmetric.length > 0) {
    const signed = Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`, 'utf8'), body]);
    matched = publicKeys.some((key) =>
      offeredAsymmetric.some((signature) => verifyEd25519(key, signed, signature)),
    );
  }
  if (!matched) {
    throw new WebhookVerificationError(
      `No webhook-signature entry matches the body and ${secrets.length > 0 ? 'secret' : 'public key'}`,
    );
  }

  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('The body is signed correctly but is not valid JSON');
  }
}

/** One header's value, by case-insensitive name; repeated headers are joined with a space. */
function readHeader(headers: WebhookHeaders, name: string): string {
  // A framework that hands over no headers object (plain JavaScript callers) gets the same error
  // as for a missing header, not a TypeError that a `catch` for this error would let through.
  if (typeof headers !== 'object' || headers === null) {
    throw new WebhookVerificationError(`Missing ${name} header (no headers were given)`);
  }
  let value: string | string[] | null | undefined;
  if (typeof headers.get === 'function') {
    value = (headers as Headers).get(name);
  } else {
    const record = headers as Record<string, string | string[] | undefined>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  const text = Array.isArray(value) ? value.join(' ') : value;
  if (text === undefined || text === null || text.trim() === '') {
    throw new WebhookVerificationError(`Missing ${name} header`);
  }
  return text.trim();
}
