import { randomUUID } from 'node:crypto';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { SecretBox } from '../security/secretBox.js';
import type { AttemptRecord, ClaimedDelivery } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import type { HttpSender, SendResult } from './httpClient.js';

export interface SentAttempt {
  record: AttemptRecord;
  result: SendResult;
}

/**
 * Signs and sends one attempt of a claimed delivery. The attempt log keeps the headers as sent
 * (signatures included) but never the secret itself.
 */
export async function sendDelivery(
  claimed: ClaimedDelivery,
  deps: { sender: HttpSender; secretBox: SecretBox; timeoutMs: number; now?: () => number },
): Promise<SentAttempt> {
  const target = claimed.target;
  if (!target) throw new Error('sendDelivery needs a delivery whose webhook is enabled');
  const now = deps.now ?? Date.now;
  const headers = buildDeliveryHeaders({
    format: target.format,
    eventId: claimed.eventId,
    timestampSec: Math.floor(now() / 1000),
    body: claimed.body,
    secret: target.secretEnc === null ? null : deps.secretBox.open(target.secretEnc),
    previousSecrets: target.previousSecretEnc === null ? [] : [deps.secretBox.open(target.previousSecretEnc)],
    customHeaders: target.headers,
    userAgent: USER_AGENT,
  });
  const result = await deps.sender.send({
    url: target.url,
    headers,
    body: claimed.body,
    timeoutMs: deps.timeoutMs,
  });
  return {
    result,
    record: {
      id: randomUUID(),
      attemptNumber: claimed.attemptCount + 1,
      startedAt: result.startedAt,
      responseTimeMs: result.responseTimeMs,
      httpStatus: result.httpStatus,
      errorClass: result.errorClass,
      errorMessage: result.errorMessage,
      request: { url: target.url, headers, body: claimed.body },
      response: result.response,
    },
  };
}
