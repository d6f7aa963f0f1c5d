/**
 * The one send path (docs/architecture.md#one-send-pipeline). Every request Runhook makes to a
 * receiver goes through it: a delivery's attempt, whoever made it due (the worker, Test Webhook, a
 * health probe), and an operator alert. It is built once per process (runtime.ts) and handed to
 * each of them, so they share the HTTP sender (its timeout, SSRF-pinned connections and error
 * classes), the secret box, the retry settings, the clock and the randomness. What an answer means
 * (delivered, retry at a time, failed with a reason) is decided here, in `judge`, once, and carried
 * forward as a `DeliveryOutcome`: the store, the worker, the health monitor, the metrics and the
 * alerts read its `kind` and never look at a status code again.
 */
import { classifyAttempt } from '../domain/classifyOutcome.js';
import { parseCidrList } from '../domain/ipRules.js';
import { nextStep } from '../domain/retrySchedule.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { DeliveryOutcome, WebhookFormat } from '../domain/types.js';
import type { SecretBox } from '../security/secretBox.js';
import type { ClaimedDelivery, DeliveryResult } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import { attemptDelivery } from './attempt.js';
import { createHttpSender, type HttpSender, type SendResult } from './httpClient.js';

/** The configuration sending reads (the fields of the same name in config.ts, passed in). */
export interface SendSettings {
  attemptTimeoutMs: number;
  retrySchedule: readonly number[];
  retryJitter: number;
}

export interface SendPipelineDeps {
  /** Tenants' webhooks: refuses addresses outside RUNHOOK_ALLOWED_CIDRS. */
  sender: HttpSender;
  secretBox: SecretBox;
  settings: SendSettings;
  now?: () => number;
  random?: () => number;
}

/** One request to a receiver, its headers signed already. */
export interface SignedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How an answer is judged: in which format the request went, and how many retries came before it. */
export interface JudgeAs {
  format: WebhookFormat;
  retriesDone: number;
  /** No retry follows, whatever the answer (Test Webhook, a probe, a manual redelivery). */
  finalAttempt?: boolean;
}

/** What one send gave back, and what it means: decided once, in `judge`. */
export interface Judged {
  sent: SendResult;
  outcome: DeliveryOutcome;
  /** When the answer was judged; a retry's time is measured from here. */
  finishedAt: number;
}

/** An operator alert to send (docs/configuration.md#runhook_alert_url), signed as a `standard` delivery. */
export interface AlertRequest {
  url: string;
  eventId: string;
  body: string;
  secret: string | null;
  /** Attempts made before this one: the retry schedule goes on from there. */
  retriesDone: number;
}

export interface SendPipeline {
  /** One attempt of a claimed delivery (or nothing, if its webhook went away): what the store records. */
  attempt(claimed: ClaimedDelivery): Promise<DeliveryResult>;
  /** One send of an operator alert: the alert records the outcome itself; no attempt row is written. */
  alert(request: AlertRequest): Promise<Judged>;
  /** Closes every connection the pipeline's senders hold. */
  close(): Promise<void>;
}

/**
 * The parts of the pipeline one delivery attempt uses (attempt.ts): the secrets, the clock, and
 * `post`, which sends through the tenants' sender and judges the answer.
 */
export interface AttemptParts {
  secretBox: SecretBox;
  now: () => number;
  post(request: SignedRequest, as: JudgeAs): Promise<Judged>;
}

// The operator's own URL: the SSRF rules that protect tenants' webhooks do not apply to it.
const EVERY_ADDRESS = parseCidrList('0.0.0.0/0,::/0');

export function createSendPipeline(deps: SendPipelineDeps): SendPipeline {
  const { sender, secretBox, settings } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  /** The operator alerts' sender, made on the first alert: one HttpSender, with every address allowed. */
  let operatorSender: HttpSender | null = null;

  /** What the answer means for what was sent, and what comes next: the one place it is decided. */
  function judge(sent: SendResult, as: JudgeAs): Judged {
    const finishedAt = now();
    const answer = classifyAttempt({
      format: as.format,
      httpStatus: sent.httpStatus,
      retryAfter: sent.response?.headers['retry-after'] ?? null,
      now: finishedAt,
    });
    const outcome = nextStep({
      answer,
      schedule: settings.retrySchedule,
      retriesDone: as.retriesDone,
      now: finishedAt,
      jitter: settings.retryJitter,
      random,
      finalAttempt: as.finalAttempt,
    });
    return { sent, outcome, finishedAt };
  }

  async function post(through: HttpSender, request: SignedRequest, as: JudgeAs): Promise<Judged> {
    const sent = await through.send({ ...request, timeoutMs: settings.attemptTimeoutMs });
    return judge(sent, as);
  }

  const parts: AttemptParts = {
    secretBox,
    now,
    post: (request, as) => post(sender, request, as),
  };

  return {
    attempt: (claimed) => attemptDelivery(claimed, parts),
    async alert(alert) {
      operatorSender ??= createHttpSender({ allowedCidrs: EVERY_ADDRESS });
      const headers = buildDeliveryHeaders({
        format: 'standard',
        eventId: alert.eventId,
        timestampSec: Math.floor(now() / 1000),
        body: alert.body,
        secret: alert.secret,
        customHeaders: {},
        userAgent: USER_AGENT,
      });
      return post(
        operatorSender,
        { url: alert.url, headers, body: alert.body },
        { format: 'standard', retriesDone: alert.retriesDone },
      );
    },
    async close() {
      await sender.close();
      await operatorSender?.close();
      operatorSender = null;
    },
  };
}
