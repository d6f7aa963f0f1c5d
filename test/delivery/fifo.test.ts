/**
 * docs/delivery.md#ordered-delivery end to end: a `fifo` webhook gets one delivery at a time per
 * agent, in event order, against real receivers on 127.0.0.1 (retries 50 ms apart, TEST_ENV).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  createAgent,
  createWebhook,
  type DeliveryJson,
  deliveryOfRun,
  finishedRun,
  getDelivery,
  settled,
  startWorker,
} from './support.js';

/**
 * A receiver that fails the first `failFirst` requests for a run, and every request for a run in
 * `alwaysFail`, and logs which run each request was for, and how many were in flight at once.
 */
class RunReceiver {
  readonly log: string[] = [];
  readonly seen = new Map<string, number>();
  readonly alwaysFail = new Set<string>();
  failFirst = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server: Server;
  url = '';

  constructor(private readonly runIds: () => string[]) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const run = this.runIds().find((id) => body.includes(id)) ?? '?';
        this.log.push(run);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const n = (this.seen.get(run) ?? 0) + 1;
        this.seen.set(run, n);
        const fail = this.alwaysFail.has(run) || n <= this.failFirst;
        // A little time on the wire, so that a second request sent meanwhile would overlap.
        setTimeout(() => {
          this.inFlight--;
          res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' }).end('{}');
        }, 15);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The runs' ids in the order of their first successful request... or of every request. */
function firsts(log: string[]): string[] {
  return log.filter((id, i) => log.indexOf(id) === i);
}

for (const backend of backends) {
  describe(`fifo webhooks [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let worker: Worker | undefined;
    let receiver: RunReceiver | undefined;
    afterEach(async () => {
      await worker?.stop(2_000);
      worker = undefined;
      await ctx?.close();
      ctx = undefined;
      await receiver?.close();
      receiver = undefined;
    });

    /** A context without a worker, a receiver that knows the runs, an agent and its fifo webhook. */
    async function setUp(hook: Record<string, unknown> = {}, env: Record<string, string> = {}) {
      const runs: string[] = [];
      ctx = await createTestContext(backend, { env });
      receiver = await new RunReceiver(() => runs).start();
      const agent = await createAgent(ctx);
      const webhook = await createWebhook(ctx, {
        url: receiver.url,
        agent_id: agent,
        ordering: 'fifo',
        ...hook,
      });
      const fire = async (agentId = agent) => {
        const run = await finishedRun(ctx!, agentId);
        runs.push(run.id);
        return run.id;
      };
      return { c: ctx, r: receiver, agent, webhook: webhook as typeof webhook & { ordering: string }, fire };
    }

    const webhookOf = async (c: TestContext, id: string) =>
      (await c.api('GET', `/api/v1/webhooks/${id}`)).body;

    it('shows ordering, holds the rest back as waiting, and keeps event order under retries', async () => {
      const { c, r, webhook, fire } = await setUp();
      expect(webhook.ordering).toBe('fifo');
      const runs: string[] = [];
      for (let i = 0; i < 5; i++) runs.push(await fire());
      // Nothing sent yet: the first is due, the other four wait behind it.
      const hook = await webhookOf(c, webhook.id);
      expect(hook).toMatchObject({ ordering: 'fifo', waiting_count: 4 });
      const deliveries = await Promise.all(runs.map((id) => deliveryOfRun(c, id)));
      expect(deliveries.map((d) => [d.status, (d as DeliveryJson & { waiting: boolean }).waiting])).toEqual([
        ['pending', false],
        ['pending', true],
        ['pending', true],
        ['pending', true],
        ['pending', true],
      ]);
      expect(deliveries[0]!.next_attempt_at).not.toBeNull();
      expect(deliveries.slice(1).map((d) => d.next_attempt_at)).toEqual([null, null, null, null]);
      // Sending a waiting one now would overtake: refused, changing nothing.
      const jump = await c.api('POST', `/api/v1/deliveries/${deliveries[2]!.id}/redeliver`);
      expect(jump.status).toBe(409);
      expect(jump.body.code).toBe('INVALID_STATE');
      expect((await getDelivery(c, deliveries[2]!.id)).next_attempt_at).toBeNull();

      // Every run's first two requests fail: each is retried before the next is sent.
      r.failFirst = 2;
      worker = startWorker(c);
      for (const d of deliveries) expect((await settled(c, d.id)).status).toBe('succeeded');
      expect(r.log).toEqual(runs.flatMap((id) => [id, id, id]));
      expect(r.maxInFlight).toBe(1);
      expect((await webhookOf(c, webhook.id)).waiting_count).toBe(0);
      // With nothing unfinished ahead, a new delivery is due at once.
      const next = await fire();
      expect((await settled(c, (await deliveryOfRun(c, next)).id)).status).toBe('succeeded');
    });

    it('a head that fails for good releases the next; a redelivery of it queues at the end', async () => {
      const { c, r, webhook, fire } = await setUp();
      const first = await fire();
      r.alwaysFail.add(first);
      const second = await fire();
      const third = await fire();
      worker = startWorker(c);
      const d1 = await settled(c, (await deliveryOfRun(c, first)).id);
      expect(d1).toMatchObject({ status: 'failed', failure_reason: 'attempts_exhausted', attempt_count: 4 });
      const d2 = await settled(c, (await deliveryOfRun(c, second)).id);
      expect(d2.status).toBe('succeeded');
      await settled(c, (await deliveryOfRun(c, third)).id);
      expect(r.log).toEqual([first, first, first, first, second, third]);
      expect(r.maxInFlight).toBe(1);

      // Stop sending, queue two, then send the failed head again: it goes behind them.
      await worker.stop(2_000);
      worker = undefined;
      r.alwaysFail.delete(first);
      const fourth = await fire();
      const fifth = await fire();
      const again = await c.api('POST', `/api/v1/deliveries/${d1.id}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ status: 'pending', waiting: true, next_attempt_at: null });
      expect((await webhookOf(c, webhook.id)).waiting_count).toBe(2);
      worker = startWorker(c);
      expect((await settled(c, d1.id)).status).toBe('succeeded');
      expect(r.log.slice(6)).toEqual([fourth, fifth, first]);
    });

    it('two agents are independent: one failing head holds back only its own agent', async () => {
      // An org-level webhook gets both agents' events.
      const { c, r, webhook, fire } = await setUp(
        { agent_id: null },
        { RUNHOOK_RETRY_SCHEDULE: '400ms,400ms,400ms' },
      );
      const other = await createAgent(c, 'Second agent');
      const agent = (await c.api('GET', '/api/v1/agents')).body.agents.find(
        (a: { id: string }) => a.id !== other,
      ).id as string;
      const a1 = await fire(agent);
      r.alwaysFail.add(a1);
      const a2 = await fire(agent);
      const b = [await fire(other), await fire(other), await fire(other)];
      expect((await webhookOf(c, webhook.id)).waiting_count).toBe(3); // a2, and b's second and third
      worker = startWorker(c);
      for (const id of b)
        expect((await settled(c, (await deliveryOfRun(c, id)).id)).status).toBe('succeeded');
      // The other agent's three went through while a1 is still being retried, a2 behind it.
      expect((await deliveryOfRun(c, a1)).status).toBe('pending');
      const waiting = await deliveryOfRun(c, a2);
      expect(waiting).toMatchObject({ status: 'pending', waiting: true });
      expect((await webhookOf(c, webhook.id)).waiting_count).toBe(1);
      expect(firsts(r.log.filter((id) => b.includes(id)))).toEqual(b);
      expect((await settled(c, (await deliveryOfRun(c, a1)).id, 10_000)).status).toBe('failed');
      expect((await settled(c, waiting.id)).status).toBe('succeeded');
      expect(r.log.indexOf(a2)).toBeGreaterThan(r.log.lastIndexOf(a1));
    });

    it('switching to parallel releases every waiting delivery; a bad ordering is a 400 that changes nothing', async () => {
      const { c, r, webhook, fire } = await setUp();
      const runs = [await fire(), await fire(), await fire()];
      expect((await webhookOf(c, webhook.id)).waiting_count).toBe(2);

      const bad = await c.api('PATCH', `/api/v1/webhooks/${webhook.id}`, {
        ordering: 'lifo',
        url: `${r.url}/x`,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('INVALID_FIELD_VALUE');
      expect(await webhookOf(c, webhook.id)).toMatchObject({
        ordering: 'fifo',
        url: r.url,
        waiting_count: 2,
      });
      const badCreate = await c.api('POST', '/api/v1/webhooks', { url: r.url, ordering: 'FIFO' });
      expect(badCreate.status).toBe(400);
      expect((await c.api('GET', '/api/v1/webhooks')).body.total).toBe(1);

      const patched = await c.api('PATCH', `/api/v1/webhooks/${webhook.id}`, { ordering: 'parallel' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ ordering: 'parallel', waiting_count: 0 });
      for (const id of runs) {
        const d = (await deliveryOfRun(c, id)) as DeliveryJson & { waiting: boolean };
        expect(d.waiting).toBe(false);
        expect(d.next_attempt_at).not.toBeNull();
      }
      worker = startWorker(c);
      for (const id of runs)
        expect((await settled(c, (await deliveryOfRun(c, id)).id)).status).toBe('succeeded');
    });

    it('deleting the webhook ends its waiting deliveries failed at once', async () => {
      const { c, webhook, fire } = await setUp();
      const runs = [await fire(), await fire(), await fire()];
      expect((await c.api('DELETE', `/api/v1/webhooks/${webhook.id}`)).status).toBe(204);
      const after = await Promise.all(runs.map((id) => deliveryOfRun(c, id)));
      expect(after.map((d) => [d.status, d.failure_reason])).toEqual([
        ['pending', null],
        ['failed', 'webhook_deleted'],
        ['failed', 'webhook_deleted'],
      ]);
      worker = startWorker(c);
      expect(await settled(c, after[0]!.id)).toMatchObject({
        status: 'failed',
        failure_reason: 'webhook_deleted',
      });
    });

    it('a head that ends on a disabled webhook ends the ones waiting behind it too', async () => {
      const { c, webhook, fire } = await setUp();
      const runs = [await fire(), await fire(), await fire()];
      const off = await c.api('PATCH', `/api/v1/webhooks/${webhook.id}`, { is_enabled: false });
      expect(off.status).toBe(200);
      expect(off.body.waiting_count).toBe(2);
      worker = startWorker(c);
      await eventually(
        async () => (await webhookOf(c, webhook.id)).waiting_count === 0,
        10_000,
        'the waiting deliveries to end',
      );
      const after = await Promise.all(runs.map((id) => deliveryOfRun(c, id)));
      expect(after.map((d) => [d.status, d.failure_reason])).toEqual([
        ['failed', 'webhook_disabled'],
        ['failed', 'webhook_disabled'],
        ['failed', 'webhook_disabled'],
      ]);
      // Recovering them queues them again in event order: one due, two waiting.
      expect((await c.api('PATCH', `/api/v1/webhooks/${webhook.id}`, { is_enabled: true })).status).toBe(200);
      await worker.stop(2_000);
      worker = undefined;
      const rec = await c.api('POST', `/api/v1/webhooks/${webhook.id}/recover`, {
        since: new Date(Date.now() - 60_000).toISOString(),
      });
      expect(rec.status, JSON.stringify(rec.body)).toBe(202);
      const queued = (await Promise.all(runs.map((id) => deliveryOfRun(c, id)))) as Array<
        DeliveryJson & { waiting: boolean }
      >;
      expect(queued.map((d) => [d.status, d.waiting])).toEqual([
        ['pending', false],
        ['pending', true],
        ['pending', true],
      ]);
      worker = startWorker(c);
      for (const d of queued) expect((await settled(c, d.id)).status).toBe('succeeded');
      expect(receiver!.log).toEqual(runs);
    });
  });
}
