/** Time-ordered attempt ids (docs/architecture.md#attempt-rows). */
import { describe, expect, it } from 'vitest';
import { timeOrderedUuid } from '../../src/domain/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedUuid', () => {
  it('is a version 7 UUID carrying the time in milliseconds', () => {
    const at = Date.UTC(2026, 11, 1, 7, 0, 0, 123);
    const id = timeOrderedUuid(at);
    expect(id).toMatch(V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts by time: an id made a millisecond later sorts after', () => {
    const t = Date.now();
    const ids = Array.from({ length: 2_000 }, (_, i) => timeOrderedUuid(t + i));
    expect([...ids].sort()).toEqual(ids);
  });

  it('ids of the same millisecond are all different (74 random bits each)', () => {
    const t = Date.now();
    const ids = new Set(Array.from({ length: 20_000 }, () => timeOrderedUuid(t)));
    expect(ids.size).toBe(20_000);
    for (const id of [...ids].slice(0, 100)) expect(id).toMatch(V7);
  });
});
