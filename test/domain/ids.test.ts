/** Time-ordered attempt ids (docs/architecture.md#attempt-rows). */
import { describe, expect, it } from 'vitest';
import { timeOfOrderedId, timeOrderedLowerBound, timeOrderedUuid } from '../../src/domain/ids.js';

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

describe('timeOrderedLowerBound and timeOfOrderedId (the live tail, docs/api.md#live-tail)', () => {
  it('every id made at that millisecond or later sorts after the bound; earlier ones before', () => {
    const t = Date.UTC(2026, 11, 7, 2, 0, 0, 500);
    const bound = timeOrderedLowerBound(t);
    for (let i = 0; i < 1_000; i++) {
      expect(timeOrderedUuid(t) > bound).toBe(true);
      expect(timeOrderedUuid(t + 1) > bound).toBe(true);
      expect(timeOrderedUuid(t - 1) < bound).toBe(true);
    }
  });

  it.each([
    [timeOrderedUuid(Date.UTC(2026, 0, 1)), Date.UTC(2026, 0, 1)],
    [timeOrderedLowerBound(1_234_567), 1_234_567],
    ['0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B', 0x0193a1b2c3d4],
    ['not-an-id', null],
    ['', null],
    ['0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5', null],
  ])('timeOfOrderedId(%j) is %j', (id, time) => {
    expect(timeOfOrderedId(id)).toBe(time);
  });
});
