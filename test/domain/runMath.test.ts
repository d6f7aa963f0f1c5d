import { describe, expect, it } from 'vitest';
import {
  durationSeconds,
  effectiveTotal,
  formatRunId,
  parseRunId,
  passRate,
} from '../../src/domain/runMath.js';

describe('effectiveTotal', () => {
  it.each([
    [17, 3, 0, null, 20],
    [17, 3, 0, 25, 25],
    [0, 0, 0, null, 0],
    [0, 0, 0, 0, 0],
    [1, 2, 3, null, 6],
  ])('passed %i failed %i errored %i given %j → %i', (p, f, e, given, total) => {
    expect(effectiveTotal(p, f, e, given)).toBe(total);
  });
});

describe('passRate', () => {
  it.each([
    [17, 20, 85],
    [2, 3, 66.67],
    [1, 3, 33.33],
    [1, 6, 16.67],
    [1, 8, 12.5],
    [1, 32, 3.13],
    [20, 20, 100],
    [0, 20, 0],
    [0, 0, 0],
    [5, 0, 0],
    [1, 7, 14.29],
  ])('%i / %i → %d', (passed, total, rate) => {
    expect(passRate(passed, total)).toBe(rate);
  });
});

describe('durationSeconds', () => {
  const t0 = Date.UTC(2026, 0, 30, 10, 30, 0);
  it.each([
    [t0, t0 + 165_000, 165],
    [t0, t0 + 165_999, 165],
    [t0, t0 + 999, 0],
    [t0, t0, 0],
    [t0, t0 - 5_000, 0],
    [t0 + 500, t0 + 1_400, 0],
  ])('%i → %i is %i s', (start, end, seconds) => {
    expect(durationSeconds(start, end)).toBe(seconds);
  });
});

describe('run ids', () => {
  it.each([
    [0, 'TR-00000'],
    [1, 'TR-00001'],
    [42, 'TR-00042'],
    [99_999, 'TR-99999'],
    [100_000, 'TR-100000'],
    [1_234_567, 'TR-1234567'],
  ])('%i ⇄ %s', (seq, text) => {
    expect(formatRunId(seq)).toBe(text);
    expect(parseRunId(text)).toBe(seq);
  });

  it.each(['TR-42', 'TR-000042', 'tr-00042', 'TR00042', 'TR-0004a', ' TR-00042', 'TR-00042 ', '', 'TR-'])(
    'parseRunId(%j) is null',
    (text) => {
      expect(parseRunId(text)).toBeNull();
    },
  );

  it.each([-1, 1.5, Number.NaN])('formatRunId(%d) throws', (seq) => {
    expect(() => formatRunId(seq)).toThrow(RangeError);
  });
});
