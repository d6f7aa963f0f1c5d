import { describe, expect, it } from 'vitest';
import type { AnswerClass } from '../../src/domain/classifyOutcome.js';
import { MAX_RETRY_AFTER_MS, nextStep } from '../../src/domain/retrySchedule.js';
import type { DeliveryOutcome } from '../../src/domain/types.js';

const NOW = Date.UTC(2026, 0, 30, 10, 32, 45);
const MIN = 60_000;
const SCHEDULE = [1 * MIN, 5 * MIN, 30 * MIN];

const retryable = (retryAfterMs: number | null = null): AnswerClass => ({
  kind: 'retryable',
  retryAfterMs,
});
const fixed = (value: number) => () => value;

describe('nextStep', () => {
  it.each<
    [string, AnswerClass, readonly number[], number, number, number, boolean | undefined, DeliveryOutcome]
  >([
    ['delivered', { kind: 'delivered' }, SCHEDULE, 0, 0, 0.5, undefined, { kind: 'delivered' }],
    [
      'delivered on the last retry',
      { kind: 'delivered' },
      SCHEDULE,
      3,
      0,
      0.5,
      undefined,
      { kind: 'delivered' },
    ],
    [
      '410: failed, gone (the webhook is disabled)',
      { kind: 'gone' },
      SCHEDULE,
      0,
      0.1,
      0.5,
      undefined,
      gone(),
    ],
    ['410 even with retries left', { kind: 'gone' }, SCHEDULE, 1, 0, 0.5, undefined, gone()],
    ['first failure → 1 min', retryable(), SCHEDULE, 0, 0, 0.5, undefined, at(1 * MIN)],
    ['second failure → 5 min', retryable(), SCHEDULE, 1, 0, 0.5, undefined, at(5 * MIN)],
    ['third failure → 30 min', retryable(), SCHEDULE, 2, 0, 0.5, undefined, at(30 * MIN)],
    ['fourth failure → schedule exhausted', retryable(), SCHEDULE, 3, 0, 0.5, undefined, failed()],
    ['beyond the schedule', retryable(), SCHEDULE, 7, 0, 0.5, undefined, failed()],
    ['empty schedule: no retries', retryable(), [], 0, 0.1, 0.5, undefined, failed()],
    ['jitter 0 ignores random', retryable(), SCHEDULE, 0, 0, 0.999, undefined, at(1 * MIN)],
    ['jitter 10 %, random 0 → −10 %', retryable(), SCHEDULE, 0, 0.1, 0, undefined, at(54_000)],
    ['jitter 10 %, random 1 → +10 %', retryable(), SCHEDULE, 0, 0.1, 1, undefined, at(66_000)],
    ['jitter 10 %, random 0.5 → exact', retryable(), SCHEDULE, 1, 0.1, 0.5, undefined, at(5 * MIN)],
    ['jitter 10 %, random 0.75 → +5 %', retryable(), SCHEDULE, 2, 0.1, 0.75, undefined, at(1_890_000)],
    ['jitter rounds to whole ms', retryable(), [1001], 0, 0.1, 0.25, undefined, at(951)],
    ['Retry-After longer lengthens', retryable(10 * MIN), SCHEDULE, 0, 0, 0.5, undefined, at(10 * MIN)],
    ['Retry-After shorter never shortens', retryable(10_000), SCHEDULE, 1, 0, 0.5, undefined, at(5 * MIN)],
    ['Retry-After shorter than jittered', retryable(55_000), SCHEDULE, 0, 0.1, 1, undefined, at(66_000)],
    ['Retry-After longer than jittered', retryable(65_000), SCHEDULE, 0, 0.1, 0, undefined, at(65_000)],
    ['Retry-After capped at 1 h', retryable(5 * 3_600_000), SCHEDULE, 0, 0.1, 0.5, undefined, at(3_600_000)],
    ['Retry-After does not add retries', retryable(10 * MIN), SCHEDULE, 3, 0, 0.5, undefined, failed()],
    [
      'a schedule step above the cap stays',
      retryable(10 * MIN),
      [2 * 3_600_000],
      0,
      0,
      0.5,
      undefined,
      at(7_200_000),
    ],
    ['finalAttempt: no retry', retryable(), SCHEDULE, 0, 0, 0.5, true, failed()],
    ['finalAttempt false: retry', retryable(), SCHEDULE, 0, 0, 0.5, false, at(1 * MIN)],
    ['finalAttempt still succeeds', { kind: 'delivered' }, SCHEDULE, 0, 0, 0.5, true, { kind: 'delivered' }],
    ['finalAttempt with 410 is still gone', { kind: 'gone' }, SCHEDULE, 0, 0, 0.5, true, gone()],
  ])('%s', (_label, answer, schedule, retriesDone, jitter, random, finalAttempt, expected) => {
    const input = { answer, schedule, retriesDone, now: NOW, jitter, random: fixed(random) };
    expect(nextStep(finalAttempt === undefined ? input : { ...input, finalAttempt })).toEqual(expected);
  });

  it('keeps every jittered delay within ±jitter', () => {
    for (let i = 0; i <= 100; i++) {
      const step = nextStep({
        answer: retryable(),
        schedule: SCHEDULE,
        retriesDone: 2,
        now: NOW,
        jitter: 0.1,
        random: fixed(i / 100),
      });
      if (step.kind !== 'retry') throw new Error(`expected a retry, got ${step.kind}`);
      expect(step.at - NOW).toBeGreaterThanOrEqual(0.9 * 30 * MIN);
      expect(step.at - NOW).toBeLessThanOrEqual(1.1 * 30 * MIN);
    }
  });

  it('exports the 1 h cap', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(3_600_000);
  });
});

function at(delay: number): DeliveryOutcome {
  return { kind: 'retry', at: NOW + delay };
}
function failed(): DeliveryOutcome {
  return { kind: 'failed', reason: 'attempts_exhausted' };
}
function gone(): DeliveryOutcome {
  return { kind: 'failed', reason: 'gone' };
}
