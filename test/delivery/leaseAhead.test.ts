/**
 * Leasing ahead (docs/architecture.md#leasing-ahead), on both backends, with a real store and a
 * receiver on loopback: a worker with spare slots leases more of a busy webhook's due deliveries
 * than the cap lets it send, sends the next one as each answer comes in (no claim in between), and
 * still never has more than the cap's requests at the receiver, also with two workers competing.
 * A stopping worker hands the deliveries it held ahead back at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import type { Claim, Store } from '../../src/store/store.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  createAgent,
  createWebhook,
  finishedRun,
  startWorker,
  webhookWithBacklog,
  wrapStoreMethod,
} from './support.js';

/** The context's store, with every claim's answer kept in `claims`. */
function watchedClaims(store: Store, claims: Claim[]): Store {
  return wrapStoreMethod(store, 'claimDueDeliveries', (claim) => async (input) => {
    const answer = await claim(input);
    claims.push(answer);
    return answer;
  });
}

for (const backend of backends) {
  describe(`leasing ahead [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    const workers: Worker[] = [];
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop(2_000);
      await receiver?.close();
      await ctx?.close();
    });

    function start(claims: Claim[], caps: { webhookConcurrency: number; orgConcurrency?: number }) {
      const worker = startWorker(ctx, caps, { store: watchedClaims(ctx.rt.store, claims), leaseAhead: true });
      workers.push(worker);
      return worker;
    }

    async function succeeded(): Promise<number> {
      return (await ctx.api('GET', '/api/v1/deliveries?status=succeeded&limit=1')).body.total as number;
    }

    it('cap 2: a claim leases past the cap, answers send the rest, never more than 2 at the receiver', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 20 };
      const runs = 40;
      await webhookWithBacklog(ctx, receiver, runs);

      const claims: Claim[] = [];
      start(claims, { webhookConcurrency: 2 });
      await eventually(async () => (await succeeded()) === runs, 30_000, `all ${runs} deliveries to succeed`);

      expect(receiver.maxInFlight).toBeLessThanOrEqual(2);
      expect(receiver.requests).toHaveLength(runs);
      const leased = claims.map((c) => c.deliveries.length);
      // Up to four caps ahead beside the two it may send: some claim leased more than the cap.
      expect(Math.max(...leased)).toBeGreaterThan(2);
      expect(Math.max(...leased)).toBeLessThanOrEqual(2 + 4 * 2);
      // The claims that leased ahead counted the other workers' leases (none here); the first, with
      // no work yet known to wait behind the cap, did not lease ahead and needed no count.
      expect(claims[0]?.othersLeased).toBeUndefined();
      const counted = claims.filter((c) => c.othersLeased);
      expect(counted.length).toBeGreaterThan(0);
      for (const c of counted) expect(c.othersLeased?.webhooks.size).toBe(0);
    }, 60_000);

    it('a webhook that answers 410: what it held ahead ends failed unsent, not asked again', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'status', status: 410, body: '' };
      await webhookWithBacklog(ctx, receiver, 30);
      const claims: Claim[] = [];
      start(claims, { webhookConcurrency: 2 });
      await eventually(
        async () => (await ctx.api('GET', '/api/v1/deliveries?status=failed&limit=1')).body.total === 30,
        30_000,
        'all 30 deliveries to end failed',
      );
      // Leased ahead past the cap, yet only what was in flight when the 410s came back was sent:
      // at most the first claim's two and the next claim's two.
      expect(Math.max(...claims.map((c) => c.deliveries.length))).toBeGreaterThan(2);
      expect(receiver.requests.length).toBeLessThanOrEqual(4);
    }, 60_000);

    it('switched off while deliveries are held ahead for a slow endpoint: at most a second of them still goes out', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 700 };
      const agent = await createAgent(ctx);
      const hook = await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      for (let i = 0; i < 12; i++) await finishedRun(ctx, agent);
      const claims: Claim[] = [];
      start(claims, { webhookConcurrency: 1 });
      // One request at the endpoint, four more held ahead.
      await eventually(
        async () => claims.some((c) => c.deliveries.length > 1),
        10_000,
        'a claim leasing ahead',
      );
      const off = await ctx.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: false });
      expect(off.status).toBe(200);
      const sentBefore = receiver.requests.length;
      await eventually(
        async () => (await ctx.api('GET', '/api/v1/deliveries?status=pending&limit=1')).body.total === 0,
        20_000,
        'no delivery left pending',
      );
      // The one in flight, and what was held under a second when a slot freed (answers take
      // 0.7 s): not all four held ahead, which the change would reach only once they were sent.
      expect(receiver.requests.length - sentBefore).toBeLessThanOrEqual(3);
      const failed = await ctx.api('GET', '/api/v1/deliveries?status=failed&limit=100');
      expect(failed.body.total).toBeGreaterThanOrEqual(12 - receiver.requests.length);
    }, 60_000);

    it('a worker without leaseAhead (as `runhook worker` runs) never leases past the cap', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 10 };
      await webhookWithBacklog(ctx, receiver, 20);
      const claims: Claim[] = [];
      workers.push(
        startWorker(ctx, { webhookConcurrency: 2 }, { store: watchedClaims(ctx.rt.store, claims) }),
      );
      await eventually(async () => (await succeeded()) === 20, 30_000, 'all 20 deliveries to succeed');
      expect(Math.max(...claims.map((c) => c.deliveries.length))).toBeLessThanOrEqual(2);
      expect(claims.every((c) => c.othersLeased === undefined)).toBe(true);
    }, 60_000);

    it('two workers on one webhook, cap 3: never more than 3 at the receiver, each delivery sent once', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 15 };
      const runs = 60;
      await webhookWithBacklog(ctx, receiver, runs);

      const claims: Claim[] = [];
      start(claims, { webhookConcurrency: 3 });
      start(claims, { webhookConcurrency: 3 });
      await eventually(async () => (await succeeded()) === runs, 30_000, `all ${runs} deliveries to succeed`);

      expect(receiver.maxInFlight).toBeLessThanOrEqual(3);
      expect(receiver.requests).toHaveLength(runs);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(runs);
    }, 60_000);

    it('two workers, two webhooks of one organization, runs arriving meanwhile: never more than its cap of 3 at once', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 15 };
      const agents = [await createAgent(ctx, 'one'), await createAgent(ctx, 'two')];
      await createWebhook(ctx, { url: receiver.url, agent_id: agents[0] });
      await createWebhook(ctx, { url: `${receiver.url}?second`, agent_id: agents[1] });
      // A backlog on the first webhook, so that a worker holds some of it ahead…
      for (let i = 0; i < 30; i++) await finishedRun(ctx, agents[0] as string);
      const claims: Claim[] = [];
      start(claims, { webhookConcurrency: 2, orgConcurrency: 3 });
      start(claims, { webhookConcurrency: 2, orgConcurrency: 3 });
      // …while new runs of both come in (hand-offs are offered for them).
      for (let i = 0; i < 30; i++) await finishedRun(ctx, agents[i % 2] as string);
      await eventually(async () => (await succeeded()) === 60, 30_000, 'all 60 deliveries to succeed');

      expect(receiver.maxInFlight).toBeLessThanOrEqual(3);
      expect(receiver.requests).toHaveLength(60);
      expect(claims.some((c) => c.othersLeased !== undefined)).toBe(true);
    }, 60_000);

    it('a stopping worker releases what it held ahead: the next worker sends it at once, not after the lease', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 200 };
      const runs = 12;
      await webhookWithBacklog(ctx, receiver, runs);

      const claims: Claim[] = [];
      const first = start(claims, { webhookConcurrency: 1 });
      // One in flight, the next claim's deliveries held ahead.
      await eventually(
        async () => claims.some((c) => c.deliveries.length > 1),
        10_000,
        'a claim leasing ahead',
      );
      await first.stop(2_000);
      workers.splice(workers.indexOf(first), 1);
      const sentByFirst = receiver.requests.length;
      expect(sentByFirst).toBeLessThan(runs);

      // Held, they would wait for their lease to run out (3 s here) and be logged as worker_lost.
      expect(ctx.config.claimLeaseMs).toBe(3_000);
      start(claims, { webhookConcurrency: 4 });
      await eventually(async () => (await succeeded()) === runs, 2_500, 'the rest, sent by the next worker');
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(runs);
      expect(receiver.requests).toHaveLength(runs);
      const page = await ctx.api('GET', `/api/v1/deliveries?limit=${runs}`);
      expect(page.body.deliveries.map((d: { attempt_count: number }) => d.attempt_count)).toEqual(
        Array(runs).fill(1),
      );
    }, 60_000);
  });
}
