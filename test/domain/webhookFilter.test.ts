import { describe, expect, it } from 'vitest';
import { cutText, normalizeFailure } from '../../src/domain/failures.js';
import type { FinalRunStatus } from '../../src/domain/types.js';
import {
  filterFromJson,
  filterMatches,
  filterToJson,
  type WebhookFilter,
} from '../../src/domain/webhookFilter.js';

const f = (statuses: FinalRunStatus[] | null, belowPassRate: number | null): WebhookFilter => ({
  statuses,
  belowPassRate,
});

describe('filterMatches', () => {
  it.each([
    ['no filter', null, 'completed', 100, true],
    ['status listed', f(['failed'], null), 'failed', 100, true],
    ['status not listed', f(['failed'], null), 'completed', 0, false],
    ['below the rate', f(null, 90), 'completed', 89.99, true],
    ['at the rate', f(null, 90), 'completed', 90, false],
    ['above the rate', f(null, 90), 'completed', 95, false],
    ['both hold', f(['completed', 'failed'], 90), 'completed', 50, true],
    ['status holds, rate does not', f(['completed'], 90), 'completed', 95, false],
    ['rate holds, status does not', f(['failed'], 90), 'canceled', 0, false],
  ] as const)('%s', (_label, filter, status, rate, expected) => {
    expect(filterMatches(filter, status, rate)).toBe(expected);
  });
});

describe('filter JSON', () => {
  it.each([
    [null, null],
    [{}, null],
    [{ statuses: ['failed'] }, f(['failed'], null)],
    [{ below_pass_rate: 80 }, f(null, 80)],
    [{ statuses: ['canceled'], below_pass_rate: 80 }, f(['canceled'], 80)],
  ] as const)('%j ⇄ %j', (json, filter) => {
    const parsed = filterFromJson(json as never);
    expect(parsed).toEqual(filter);
    expect(filterToJson(parsed)).toEqual(filter === null ? null : json);
  });
});

describe('failures', () => {
  it.each([
    ['abc', 3, 'abc'],
    ['abcd', 3, 'ab…'],
    ['😀😀😀😀', 3, '😀😀…'],
  ])('cutText(%j, %i) = %j', (text, max, expected) => {
    expect(cutText(text, max)).toBe(expected);
  });

  it('fills every key, turns empty strings into null and defaults kind to failed', () => {
    expect(normalizeFailure({ name: 'n', file: '', message: 'm' })).toEqual({
      name: 'n',
      classname: null,
      file: null,
      message: 'm',
      kind: 'failed',
    });
  });
});
