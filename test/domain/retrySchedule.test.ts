import { describe, expect, it } from 'vitest';
import { type AttemptOutcome, classifyAttempt, parseRetryAfter } from '../../src/domain/classifyOutcome.js';
import { MAX_RETRY_AFTER_MS, type NextStep, nextStep } from '../../src/domain/retrySchedule.js';
import type { ErrorClass } from '../../src/domain/types.js';

const NOW = Date.UTC(2026, 0, 30, 10, 32, 45);
const MIN = 60_000;
const SCHEDULE = [1 * MIN, 5 * MIN, 30 * MIN];

describe('classifyAttempt', () => {
  it.each<[string, number | null, ErrorClass | null, string | null, AttemptOutcome]>([
    ['200', 200, null, null, { kind: 'delivered' }],
    ['204', 204, null, null, { kind: 'delivered' }],
    ['299', 299, null, null, { kind: 'delivered' }],
    ['100 is not success', 100, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['301 redirect is not followed', 301, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['304', 304, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['400', 400, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['404', 404, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['410 gone', 410, 'http_status', null, { kind: 'gone' }],
    ['410 ignores Retry-After', 410, 'http_status', '120', { kind: 'gone' }],
    ['500', 500, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['500 ignores Retry-After', 500, 'http_status', '120', { kind: 'retryable', retryAfterMs: null }],
    ['429 delta seconds', 429, 'http_status', '120', { kind: 'retryable', retryAfterMs: 120_000 }],
    ['503 delta seconds', 503, 'http_status', '0', { kind: 'retryable', retryAfterMs: 0 }],
    [
      '503 HTTP-date',
      503,
      'http_status',
      'Fri, 30 Jan 2026 10:42:45 GMT',
      { kind: 'retryable', retryAfterMs: 10 * MIN },
    ],
    ['429 invalid Retry-After', 429, 'http_status', 'soon', { kind: 'retryable', retryAfterMs: null }],
    ['429 without Retry-After', 429, 'http_status', null, { kind: 'retryable', retryAfterMs: null }],
    ['timeout, no status', null, 'timeout', null, { kind: 'retryable', retryAfterMs: null }],
    ['connection refused', null, 'connection_refused', null, { kind: 'retryable', retryAfterMs: null }],
    ['ssrf blocked', null, 'ssrf_blocked', null, { kind: 'retryable', retryAfterMs: null }],
  ])('%s', (_label, httpStatus, errorClass, retryAfter, outcome) => {
    expect(classifyAttempt({ httpStatus, errorClass, retryAfter, now: NOW })).toEqual(outcome);
  });
});

describe('parseRetryAfter', () => {
  it.each<[string, number | null]>([
    ['120', 120_000],
    [' 30 ', 30_000],
    ['0', 0],
    ['Fri, 30 Jan 2026 10:42:45 GMT', 10 * MIN],
    ['Friday, 30-Jan-26 10:42:45 GMT', 10 * MIN],
    ['Fri Jan 30 10:42:45 2026', 10 * MIN],
    ['Mon Feb  2 10:42:45 2026', Date.UTC(2026, 1, 2, 10, 42, 45) - NOW],
    ['Thu, 29 Jan 2026 10:42:45 GMT', 0],
    ['-5', null],
    ['1.5', null],
    ['', null],
    ['soon', null],
    ['2026-01-30T10:42:45Z', null],
    ['Fri, 31 Feb 2026 10:42:45 GMT', null],
    ['Fri, 30 Jan 2026 25:42:45 GMT', null],
    ['Fri, 30 Jan 2026 10:42:45 UTC', null],
  ])('%j → %j', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });
});

const retryable = (retryAfterMs: number | null = null): AttemptOutcome => ({
  kind: 'retryable',
  retryAfterMs,
});
const fixed = (value: number) => () => value;

describe('nextStep', () => {
  it.each<[string, AttemptOutcome, readonly number[], number, number, number, boolean | undefined, NextStep]>(
    [
      ['delivered', { kind: 'delivered' }, SCHEDULE, 0, 0, 0.5, undefined, { kind: 'succeeded' }],
      [
        'delivered on the last retry',
        { kind: 'delivered' },
        SCHEDULE,
        3,
        0,
        0.5,
        undefined,
        { kind: 'succeeded' },
      ],
      ['410 disables the webhook', { kind: 'gone' }, SCHEDULE, 0, 0.1, 0.5, undefined, gone()],
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
      [
        'Retry-After capped at 1 h',
        retryable(5 * 3_600_000),
        SCHEDULE,
        0,
        0.1,
        0.5,
        undefined,
        at(3_600_000),
      ],
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
      [
        'finalAttempt still succeeds',
        { kind: 'delivered' },
        SCHEDULE,
        0,
        0,
        0.5,
        true,
        { kind: 'succeeded' },
      ],
      ['finalAttempt with 410 still disables', { kind: 'gone' }, SCHEDULE, 0, 0, 0.5, true, gone()],
    ],
  )('%s', (_label, outcome, schedule, retriesDone, jitter, random, finalAttempt, expected) => {
    const input = { outcome, schedule, retriesDone, now: NOW, jitter, random: fixed(random) };
    expect(nextStep(finalAttempt === undefined ? input : { ...input, finalAttempt })).toEqual(expected);
  });

  it('keeps every jittered delay within ±jitter', () => {
    for (let i = 0; i <= 100; i++) {
      const step = nextStep({
        outcome: retryable(),
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

function at(delay: number): NextStep {
  return { kind: 'retry', at: NOW + delay };
}
function failed(): NextStep {
  return { kind: 'failed', disableWebhook: false };
}
function gone(): NextStep {
  return { kind: 'failed', disableWebhook: true };
}
