/**
 * One attempt of one claimed delivery, whatever made it due (the retry schedule, a manual
 * redelivery, Test Webhook, a probe): sign, send and judge through the send pipeline
 * (sendPipeline.ts), and return what the store records. Callers reach it only through
 * `SendPipeline.attempt` and hand its result to the store unchanged.
 */
import { timeOrderedUuid } from '../domain/ids.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { Attempt } from '../domain/types.js';
import type { ClaimedDelivery, DeliveryResult } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import type { AttemptParts } from './sendPipeline.js';

/**
 * Sends one attempt of `claimed` (or, when its webhook was disabled or deleted since, nothing)
 * and returns what the store records. The attempt log keeps the headers as sent (signatures
 * included) but never the secret itself.
 */
export async function attemptDelivery(
  claimed: ClaimedDelivery,
  parts: AttemptParts,
): Promise<DeliveryResult> {
  const base = {
    deliveryId: claimed.deliveryId,
    webhookId: claimed.webhookId,
    leaseOwner: claimed.leaseOwner,
    trigger: claimed.trigger,
  };
  const target = claimed.target;
  if ('unsendable' in target) {
    // The claim found the webhook gone or off (docs/architecture.md#one-send-pipeline): nothing is
    // sent, and its reason is the outcome.
    return {
      ...base,
      attempt: null,
      outcome: { kind: 'failed', reason: target.unsendable },
      finishedAt: parts.now(),
    };
  }
  const { secretBox } = parts;
  const headers = buildDeliveryHeaders({
    format: target.format,
    eventId: claimed.eventId,
    timestampSec: Math.floor(parts.now() / 1000),
    body: claimed.body,
    secret: target.secretEnc === null ? null : secretBox.open(target.secretEnc),
    previousSecrets: target.previousSecretEnc === null ? [] : [secretBox.open(target.previousSecretEnc)],
    signingKeys: (target.signingKeysEnc ?? []).map((sealed) => secretBox.open(sealed)),
    customHeaders: target.headers,
    userAgent: USER_AGENT,
  });
  const { sent, outcome, finishedAt } = await parts.post(
    { url: target.url, headers, body: claimed.body },
    { format: target.format, retriesDone: claimed.retriesDone, finalAttempt: claimed.finalAttempt },
  );
  const answeredButNotDelivered = sent.httpStatus !== null && outcome.kind !== 'delivered';
  const attempt: Attempt = {
    id: timeOrderedUuid(sent.startedAt),
    deliveryId: claimed.deliveryId,
    attemptNumber: claimed.attemptCount + 1,
    trigger: claimed.trigger,
    startedAt: sent.startedAt,
    responseTimeMs: sent.responseTimeMs,
    httpStatus: sent.httpStatus,
    errorClass: answeredButNotDelivered ? 'http_status' : sent.errorClass,
    errorMessage: answeredButNotDelivered ? `HTTP ${sent.httpStatus}` : sent.errorMessage,
    request: { url: target.url, headers, body: claimed.body },
    response: sent.response,
  };
  return { ...base, attempt, outcome, finishedAt };
}
