/**
 * The retry policy (docs/delivery.md#retries) as one pure function of (answer, schedule, retries done, now,
 * random): delivered, failed with a reason, or retry at a given time.
 */
import type { AnswerClass } from './classifyOutcome.js';
import type { DeliveryOutcome } from './types.js';

/** Retry-After may lengthen a delay up to this much, never more (docs/delivery.md#retry-after). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export interface NextStepInput {
  answer: AnswerClass;
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

export function nextStep(input: NextStepInput): DeliveryOutcome {
  const { answer } = input;
  if (answer.kind === 'delivered') return { kind: 'delivered' };
  if (answer.kind === 'gone') return { kind: 'failed', reason: 'gone' };
  const scheduled = input.schedule[input.retriesDone];
  if (input.finalAttempt === true || scheduled === undefined)
    return { kind: 'failed', reason: 'attempts_exhausted' };
  let delay = Math.max(0, scheduled * (1 + input.jitter * (2 * input.random() - 1)));
  if (answer.retryAfterMs !== null) {
    // The receiver asked for more time: honour it, but a hostile or buggy answer cannot park
    // the delivery for longer than an hour.
    delay = Math.max(delay, Math.min(answer.retryAfterMs, MAX_RETRY_AFTER_MS));
  }
  return { kind: 'retry', at: input.now + Math.round(delay) };
}
