import { describe, expect, it } from 'vitest';
import { sharePrefetch, shareSlots, type WebhookBacklog } from '../../src/domain/fairShare.js';

const NOW = 1_000_000;
const hook = (webhookId: string, orgId: string, extra: Partial<WebhookBacklog> = {}): WebhookBacklog => ({
  webhookId,
  orgId,
  firstDueAt: NOW - 1_000,
  dueNow: 8,
  leased: 0,
  ...extra,
});
const share = (backlog: WebhookBacklog[], options: Partial<Parameters<typeof shareSlots>[0]> = {}) =>
  shareSlots({ backlog, orgLeased: new Map(), now: NOW, limit: 64, webhookCap: 8, orgCap: 32, ...options });
const counts = (r: ReturnType<typeof shareSlots>) =>
  Object.fromEntries(r.take.map((t) => [t.webhookId, t.count]));

describe('shareSlots', () => {
  it('alternates across organizations: the one waiting longest first, one slot each in turn', () => {
    const r = share([hook('a1', 'A', { firstDueAt: NOW - 60_000 }), hook('b1', 'B', { firstDueAt: NOW })], {
      limit: 3,
    });
    expect(r.take.map((t) => t.webhookId)).toEqual(['a1', 'b1']);
    expect(counts(r)).toEqual({ a1: 2, b1: 1 });
  });

  it('alternates across webhooks inside one organization: a deep backlog does not hide a new webhook', () => {
    const r = share(
      [hook('deep', 'A', { firstDueAt: NOW - 3_600_000 }), hook('fresh', 'A', { firstDueAt: NOW })],
      {
        limit: 4,
      },
    );
    expect(counts(r)).toEqual({ deep: 2, fresh: 2 });
  });

  it('holds the webhook cap and the organization cap, counting attempts already in flight everywhere', () => {
    const backlog = [
      hook('a1', 'A', { leased: 6 }),
      hook('a2', 'A', { leased: 8 }), // full: left out
      hook('a3', 'A'),
      hook('b1', 'B'),
    ];
    const r = share(backlog, { orgLeased: new Map([['A', 28]]) });
    const c = counts(r);
    expect(c.a2).toBeUndefined();
    // 32 - 28 = 4 slots left for A, all to the webhook with the fewest in flight.
    expect(c.a3).toBe(4);
    expect(c.a1).toBeUndefined();
    expect(c.b1).toBe(8);
    expect(r.leftOver).toBe(false);
  });

  it('a free slot goes to the organization, then the webhook, with the fewest attempts in flight', () => {
    const flooded = hook('a1', 'A', { firstDueAt: NOW - 3_600_000, leased: 8 });
    const r = share(
      [{ ...flooded, leased: 5 }, hook('a2', 'A', { leased: 4 }), hook('b1', 'B', { firstDueAt: NOW })],
      {
        orgLeased: new Map([['A', 9]]),
        limit: 1,
      },
    );
    expect(counts(r)).toEqual({ b1: 1 });
    const inside = share([{ ...flooded, leased: 5 }, hook('a2', 'A', { firstDueAt: NOW, leased: 1 })], {
      limit: 3,
    });
    expect(counts(inside)).toEqual({ a2: 3 });
  });

  it('never grants more than a webhook has due', () => {
    expect(counts(share([hook('w', 'A', { dueNow: 3 })]))).toEqual({ w: 3 });
  });

  it('an organization at its cap is left out entirely, and does not make the worker wake', () => {
    const r = share([hook('a1', 'A', { firstDueAt: NOW + 5_000 }), hook('a2', 'A')], {
      orgLeased: new Map([['A', 32]]),
    });
    expect(r.take).toEqual([]);
    expect(r.nextDueAt).toBeNull();
    expect(r.leftOver).toBe(false);
  });

  it('the next due time is the earliest future delivery of a webhook with room', () => {
    const r = share([
      hook('full', 'A', { firstDueAt: NOW + 1_000, leased: 8 }),
      hook('later', 'A', { firstDueAt: NOW + 30_000 }),
      hook('soon', 'B', { firstDueAt: NOW + 5_000 }),
      hook('none', 'B', { firstDueAt: null, dueNow: 0, leased: 3 }),
    ]);
    expect(r.take).toEqual([]);
    expect(r.nextDueAt).toBe(NOW + 5_000);
  });

  it('says when due work was left for lack of slots', () => {
    const r = share([hook('a', 'A'), hook('b', 'B')], { limit: 5 });
    expect(r.take.reduce((n, t) => n + t.count, 0)).toBe(5);
    expect(r.leftOver).toBe(true);
  });

  it('with no free slot it grants nothing but still reports left-over work', () => {
    const r = share([hook('a', 'A')], { limit: 0 });
    expect(r.take).toEqual([]);
    expect(r.leftOver).toBe(true);
  });
});

describe('sharePrefetch', () => {
  const ahead = (
    backlog: WebhookBacklog[],
    take: Array<{ webhookId: string; orgId: string; count: number }>,
    options: Partial<Parameters<typeof sharePrefetch>[0]> = {},
  ) =>
    Object.fromEntries(
      sharePrefetch({
        backlog,
        take,
        now: NOW,
        limit: 64,
        perWebhook: 16,
        queued: new Map(),
        orgLeased: new Map(),
        orgCap: 32,
        ...options,
      }),
    );

  it('gives only the slots left after the share, in turn, the longest-waiting webhook first', () => {
    const backlog = [
      hook('new', 'A', { firstDueAt: NOW, dueNow: 24, leased: 8 }),
      hook('old', 'B', { firstDueAt: NOW - 60_000, dueNow: 24, leased: 8 }),
    ];
    expect(ahead(backlog, [], { limit: 3 })).toEqual({ old: 2, new: 1 });
    expect(ahead(backlog, [], { limit: 0 })).toEqual({});
  });

  it('stops at what is due beyond the share and at perWebhook less what is held already', () => {
    const backlog = [hook('a', 'A', { dueNow: 10 }), hook('b', 'B', { dueNow: 24 })];
    const r = ahead(backlog, [{ webhookId: 'a', orgId: 'A', count: 6 }], { queued: new Map([['b', 12]]) });
    expect(r).toEqual({ a: 4, b: 4 });
  });

  it('leaves out webhooks not due yet and webhooks whose organization the share filled', () => {
    const backlog = [
      hook('later', 'A', { firstDueAt: NOW + 1_000, dueNow: 0 }),
      hook('full', 'B', { dueNow: 24 }),
      hook('open', 'C', { dueNow: 24 }),
    ];
    const r = ahead(backlog, [{ webhookId: 'full', orgId: 'B', count: 2 }], {
      orgLeased: new Map([['B', 30]]),
    });
    expect(r).toEqual({ open: 16 });
  });
});
