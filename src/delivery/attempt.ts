/**
 * One attempt of one claimed delivery, whatever made it due (the retry schedule, a manual
 * redelivery, Test Webhook): sign, send, decide what the answer means, once. The worker and the
 * Test Webhook route both call attemptDelivery and hand its result to the store unchanged.
 */
import { classifyAttempt } from '../domain/classifyOutcome.js';
import { timeOrderedUuid } from '../domain/ids.js';
import { nextStep } from '../domain/retrySchedule.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { Attempt } from '../domain/types.js';
import type { SecretBox } from '../security/secretBox.js';
import type { ClaimedDelivery, DeliveryResult } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import type { HttpSender } from './httpClient.js';

export interface AttemptDeps {
  sender: HttpSender;
  secretBox: SecretBox;
  timeoutMs: number;
  retrySchedule: readonly number[];
  retryJitter: number;
  now: () => number;
  random: () => number;
}

/**
 * Sends one attempt of `claimed` (or, when its webhook was disabled or deleted since, nothing)
 * and returns what the store records. The attempt log keeps the headers as sent (signatures
 * included) but never the secret itself.
 */
export async function attemptDelivery(claimed: ClaimedDelivery, deps: AttemptDeps): Promise<DeliveryResult> {
  const base = {
    deliveryId: claimed.deliveryId,
    webhookId: claimed.webhookId,
    leaseOwner: claimed.leaseOwner,
    trigger: claimed.trigger,
  };
  const target = claimed.target;
  if ('unsendable' in target) {
    return {
      ...base,
      attempt: null,
      outcome: { kind: 'failed', reason: target.unsendable },
      finishedAt: deps.now(),
    };
  }
  const headers = buildDeliveryHeaders({
    format: target.format,
    eventId: claimed.eventId,
    timestampSec: Math.floor(deps.now() / 1000),
    body: claimed.body,
    secret: target.secretEnc === null ? null : deps.secretBox.open(target.secretEnc),
    previousSecrets: target.previousSecretEnc === null ? [] : [deps.secretBox.open(target.previousSecretEnc)],
    signingKeys: (target.signingKeysEnc ?? []).map((sealed) => deps.secretBox.open(sealed)),
    customHeaders: target.headers,
    userAgent: USER_AGENT,
  });
  const sent = await deps.sender.send({
    url: target.url,
    headers,
    body: claimed.body,
    timeoutMs: deps.timeoutMs,
  });
  const t = deps.now();
  const answer = classifyAttempt({
    format: target.format,
    httpStatus: sent.httpStatus,
    retryAfter: sent.response?.headers['retry-after'] ?? null,
    now: t,
  });
  const outcome = nextStep({
    answer,
    schedule: deps.retrySchedule,
    retriesDone: claimed.retriesDone,
    now: t,
    jitter: deps.retryJitter,
    random: deps.random,
    finalAttempt: claimed.finalAttempt,
  });
  const answeredButNotDelivered = sent.httpStatus !== null && answer.kind !== 'delivered';
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
  return { ...base, attempt, outcome, finishedAt: t };
}
