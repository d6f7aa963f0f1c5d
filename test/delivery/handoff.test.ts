/**
 * Hand-off (docs/architecture.md#hand-off): a finished run's delivery is leased to the worker in
 * this process when its webhook and organization are below their caps and nothing of that webhook
 * is waiting (SQLite: in the run's own write; PostgreSQL: in a batch right after its commit), and
 * is sent without a claim. Whether it is handed off or claimed, the caps hold at the receiver, one
 * webhook's deliveries arrive in the order of their runs, and the webhook is sent to as it is at
 * the commit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { createWorkerWithHealth } from '../../src/delivery/workerWithHealth.js';
import type { Store } from '../../src/store/store.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from './support.js';

/** The context's store, counting the worker's claims. */
function countingClaims(store: Store, claims: { n: number }): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'claimDueDeliveries') {
        return (...args: Parameters<Store['claimDueDeliveries']>) => {
          claims.n++;
          return target.claimDueDeliveries(...args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The run id (`TR-00042`) in a delivered body. */
const runIdOf = (body: string) => (JSON.parse(body) as { test_run: { id: string } }).test_run.id;

for (const backend of backends) {
  describe(`hand-off of new deliveries to the worker [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let worker: Worker | undefined;
    const claims = { n: 0 };
    /** The context whose store's LISTEN connection is known to be up. */
    let listening: TestContext | undefined;
    afterEach(async () => {
      await worker?.stop(2_000);
      worker = undefined;
      await receiver?.close();
      await ctx?.close();
    });

    /** A worker that polls only once a minute: anything sent sooner was handed off or woken for. */
    async function start(caps: { webhookConcurrency?: number; orgConcurrency?: number } = {}) {
      claims.n = 0;
      worker = createWorkerWithHealth({
        store: countingClaims(ctx.rt.store, claims),
        send: ctx.rt.send,
        // An explicit organization cap is a hard cap, as RUNHOOK_ORG_CONCURRENCY=<number> makes it.
        settings: { ...ctx.config, ...(caps.orgConcurrency ? { orgBorrow: false } : {}), ...caps },
        config: ctx.config,
        logger: ctx.rt.logger,
        idlePollMs: 60_000,
      });
      // On PostgreSQL the worker claims once more when the store's LISTEN connection is up (the
      // store wakes its listeners then, once per store): wait for that wake, however late a loaded
      // machine makes it.
      const wakes = { n: 0 };
      const unsubscribe = ctx.rt.store.onNewWork(() => wakes.n++);
      worker.start();
      // The claims at start (and, on PostgreSQL, once LISTEN is connected) find nothing.
      await eventually(async () => claims.n >= 1, 5_000, 'the first claim');
      if (backend.name === 'postgres' && listening !== ctx) {
        await eventually(async () => wakes.n >= 1, 10_000, 'LISTEN to connect');
        listening = ctx;
      }
      unsubscribe();
      let seen = -1;
      while (seen !== claims.n) {
        seen = claims.n;
        await sleep(300);
      }
    }

    it('a run finished while the worker is idle is sent at once, without a claim', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      await start();
      const before = claims.n;

      const run = await finishedRun(ctx, agent);
      const delivery = await deliveryOfRun(ctx, run.id);
      const done = await settled(ctx, delivery.id);
      expect(done.status).toBe('succeeded');
      expect(done.attempts).toHaveLength(1);
      expect(receiver.requests).toHaveLength(1);
      expect(runIdOf(receiver.requests[0]?.body ?? '{}')).toBe(run.id);
      // The body and signature are the claimed path's: the stored body, byte for byte.
      expect(receiver.requests[0]?.body).toBe(done.attempts[0]?.request.body);
      expect(receiver.requests[0]?.headers['webhook-id']).toBeDefined();
      expect(claims.n).toBe(before);
    }, 30_000);

    it('per-webhook cap 1 holds at the receiver, and the webhook gets its runs in their order', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 20 };
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      await start({ webhookConcurrency: 1 });

      // Sequential ingest (as one CI job would post): the first finds room, later ones find the cap
      // full or earlier ones waiting, and must not overtake them (one at a time: arrival order is
      // send order).
      const runs: string[] = [];
      for (let i = 0; i < 12; i++) {
        runs.push((await finishedRun(ctx, agent)).id);
        if (i % 3 === 2) await sleep(15);
      }
      await eventually(async () => receiver.requests.length >= runs.length, 20_000, 'all 12 delivered');
      await sleep(100);
      expect(receiver.requests).toHaveLength(runs.length);
      expect(receiver.maxInFlight).toBe(1);
      expect(receiver.requests.map((r) => runIdOf(r.body))).toEqual(runs);
    }, 60_000);

    it('per-organization cap 1 over two webhooks holds for handed-off deliveries too', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 40 };
      const agents = [await createAgent(ctx, 'one'), await createAgent(ctx, 'two')];
      await createWebhook(ctx, { url: receiver.url, agent_id: agents[0] });
      await createWebhook(ctx, { url: `${receiver.url}?second`, agent_id: agents[1] });
      await start({ webhookConcurrency: 8, orgConcurrency: 1 });

      await Promise.all(Array.from({ length: 8 }, (_, i) => finishedRun(ctx, agents[i % 2] as string)));
      await eventually(async () => receiver.requests.length >= 8, 20_000, 'all 8 delivered');
      expect(receiver.maxInFlight).toBe(1);
    }, 60_000);

    it('a webhook changed after its route was cached is sent to as it is at the commit', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      const agent = await createAgent(ctx);
      const hook = await createWebhook(ctx, { url: `${receiver.url}/old`, agent_id: agent });
      await start();
      await settled(ctx, (await deliveryOfRun(ctx, (await finishedRun(ctx, agent)).id)).id);

      const patched = await ctx.api('PATCH', `/api/v1/webhooks/${hook.id}`, {
        url: `${receiver.url}/new`,
        headers: { 'X-Team': 'blue' },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const run = await finishedRun(ctx, agent);
      await settled(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(receiver.requests.map((r) => r.url.split('/').at(-1))).toEqual(['old', 'new']);
      expect(receiver.requests[1]?.headers['x-team']).toBe('blue');
    }, 30_000);

    it('a stopped worker takes nothing: the delivery waits, unleased, for the next worker', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      await start();
      await worker?.stop(2_000);
      worker = undefined;

      const run = await finishedRun(ctx, agent);
      const raw = await openRawSql(ctx.db.url);
      try {
        expect(await raw.count('SELECT count(*) FROM deliveries')).toBe(1);
        expect(
          await raw.count(
            "SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner IS NULL AND lease_until IS NULL",
          ),
        ).toBe(1);
      } finally {
        await raw.close();
      }
      expect(receiver.requests).toHaveLength(0);

      await start();
      const done = await settled(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(done.status).toBe('succeeded');
    }, 30_000);
  });
}
