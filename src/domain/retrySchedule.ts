/**
 * The retry policy (docs/delivery.md#retries) as one pure function of (outcome, schedule, retries done, now,
 * random): deliver, give up, or retry at a given time.
 */
import type { AttemptOutcome } from './classifyOutcome.js';

/** Retry-After may lengthen a delay up to this much, never more (docs/delivery.md#retry-after). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export type NextStep =
  | { kind: 'succeeded' }
  | { kind: 'retry'; at: number }
  | { kind: 'failed'; disableWebhook: boolean };

export interface NextStepInput {
  outcome: AttemptOutcome;
  /** Delays between attempts in ms, e.g. [60000, 300000, 1800000]; its length is the retry count. */
  schedule: readonly number[];
  /** Retries (attempts after the first) already made before the attempt being judged. */
  retriesDone: number;
  /** When the judged attempt failed; the next delay is measured from here. */
  now: number;
  /** ± fraction applied to the scheduled delay, 0 for none (0.1 by default in config). */
  jitter: number;
  /** Uniform in [0, 1), like Math.random. */
  random: () => number;
  /** The attempt was not to be retried anyway (e.g. Test Webhook). */
  finalAttempt?: boolean;
}

export function nextStep(input: NextStepInput): NextStep {
  const { outcome } = input;
  if (outcome.kind === 'delivered') return { kind: 'succeeded' };
  if (outcome.kind === 'gone') return { kind: 'failed', disableWebhook: true };
  const scheduled = input.schedule[input.retriesDone];
  if (input.finalAttempt === true || scheduled === undefined)
    return { kind: 'failed', disableWebhook: false };
  let delay = Math.max(0, scheduled * (1 + input.jitter * (2 * input.random() - 1)));
  if (outcome.retryAfterMs !== null) {
    // The receiver asked for more time: honour it, but a hostile or buggy answer cannot park
    // the delivery for longer than an hour.
    delay = Math.max(delay, Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS));
  }
  return { kind: 'retry', at: input.now + Math.round(delay) };
}
