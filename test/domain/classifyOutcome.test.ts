import { describe, expect, it } from 'vitest';
import {
  type AnswerClass,
  classifyAttempt,
  isDelivered,
  parseRetryAfter,
} from '../../src/domain/classifyOutcome.js';
import { WEBHOOK_FORMATS } from '../../src/domain/types.js';

const NOW = Date.UTC(2026, 0, 30, 10, 32, 45);
const MIN = 60_000;

describe('classifyAttempt', () => {
  it.each<[string, number | null, string | null, AnswerClass]>([
    ['200', 200, null, { kind: 'delivered' }],
    ['204', 204, null, { kind: 'delivered' }],
    ['299', 299, null, { kind: 'delivered' }],
    ['100 is not success', 100, null, { kind: 'retryable', retryAfterMs: null }],
    ['301 redirect is not followed', 301, null, { kind: 'retryable', retryAfterMs: null }],
    ['304', 304, null, { kind: 'retryable', retryAfterMs: null }],
    ['400', 400, null, { kind: 'retryable', retryAfterMs: null }],
    ['404', 404, null, { kind: 'retryable', retryAfterMs: null }],
    ['410 gone', 410, null, { kind: 'gone' }],
    ['410 ignores Retry-After', 410, '120', { kind: 'gone' }],
    ['500', 500, null, { kind: 'retryable', retryAfterMs: null }],
    ['500 ignores Retry-After', 500, '120', { kind: 'retryable', retryAfterMs: null }],
    ['429 delta seconds', 429, '120', { kind: 'retryable', retryAfterMs: 120_000 }],
    ['503 delta seconds', 503, '0', { kind: 'retryable', retryAfterMs: 0 }],
    ['503 HTTP-date', 503, 'Fri, 30 Jan 2026 10:42:45 GMT', { kind: 'retryable', retryAfterMs: 10 * MIN }],
    ['429 invalid Retry-After', 429, 'soon', { kind: 'retryable', retryAfterMs: null }],
    ['429 without Retry-After', 429, null, { kind: 'retryable', retryAfterMs: null }],
    ['timeout, no status', null, null, { kind: 'retryable', retryAfterMs: null }],
    ['connection refused', null, null, { kind: 'retryable', retryAfterMs: null }],
    ['ssrf blocked', null, null, { kind: 'retryable', retryAfterMs: null }],
  ])('%s', (_label, httpStatus, retryAfter, answer) => {
    expect(classifyAttempt({ format: 'standard', httpStatus, retryAfter, now: NOW })).toEqual(answer);
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

describe('isDelivered', () => {
  it.each(WEBHOOK_FORMATS.filter((f) => f !== 'clix'))(
    '%s: 2xx is delivered, anything else (or no answer) is not',
    (format) => {
      for (const status of [200, 201, 204, 299]) expect(isDelivered(format, status)).toBe(true);
      for (const status of [100, 199, 300, 301, 404, 410, 429, 500, 503])
        expect(isDelivered(format, status)).toBe(false);
      expect(isDelivered(format, null)).toBe(false);
    },
  );

  it('clix: only 200 OK is delivered, as TestCLIX retries anything else', () => {
    expect(isDelivered('clix', 200)).toBe(true);
    for (const status of [201, 202, 204, 299, 301, 410, 500]) expect(isDelivered('clix', status)).toBe(false);
    expect(isDelivered('clix', null)).toBe(false);
    expect(classifyAttempt({ format: 'clix', httpStatus: 201, retryAfter: null, now: NOW })).toEqual({
      kind: 'retryable',
      retryAfterMs: null,
    });
  });
});
