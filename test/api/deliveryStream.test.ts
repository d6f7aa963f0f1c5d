import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorkerWithHealth } from '../../src/delivery/workerWithHealth.js';
import { buildApp } from '../../src/http/app.js';
import { closeRuntime, openRuntime } from '../../src/runtime.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun } from '../delivery/support.js';
import { backends, postgresBackend } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type OpenStream, openStream } from '../helpers/eventStream.js';
import { Receiver } from '../helpers/receiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(ctx: TestContext): Promise<string> {
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
}

for (const backend of backends) {
  describe(`live tail [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let base: string;
    const streams: OpenStream[] = [];
    const stream = async (
      ...args: Parameters<typeof openStream> extends [string, ...infer R] ? R : never
    ) => {
      const s = await openStream(base, ...args);
      streams.push(s);
      return s;
    };
    beforeEach(async () => {
      ctx = await createTestContext(backend, { worker: true });
      receiver = await new Receiver().start();
      base = await listen(ctx);
    });
    afterEach(async () => {
      for (const s of streams.splice(0)) s.close();
      await ctx.close();
      await receiver.close();
    });

    it('sends an attempt event when a run is delivered', async () => {
      const agent = await createAgent(ctx);
      const hook = await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      const s = await stream(ctx.apiKey);
      expect(s.status).toBe(200);
      const run = await finishedRun(ctx, agent);
      const [event] = await s.waitFor(1);
      const delivery = await deliveryOfRun(ctx, run.id);
      expect(event?.event).toBe('attempt');
      expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      const data = JSON.parse(event?.data ?? '{}');
      expect(data).toEqual({
        delivery_id: delivery.id,
        webhook_id: hook.id,
        trigger: 'scheduled',
        status: 'succeeded',
        http_status: 200,
        response_time_ms: expect.any(Number),
        attempt_number: 1,
        error_class: null,
        started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      // The same time as the attempt in the delivery's history: to the second, like every API time.
      const detail = await ctx.api('GET', `/api/v1/deliveries/${delivery.id}`);
      expect(data.started_at).toBe(detail.body.attempts[0].started_at);
    });

    it('filters by webhook and by status', async () => {
      const gone = await new Receiver().start();
      gone.behaviour = { kind: 'status', status: 410 };
      try {
        const okAgent = await createAgent(ctx, 'ok agent');
        const goneAgent = await createAgent(ctx, 'gone agent');
        const okHook = await createWebhook(ctx, { url: receiver.url, agent_id: okAgent });
        const goneHook = await createWebhook(ctx, { url: gone.url, agent_id: goneAgent });
        const all = await stream(ctx.apiKey);
        const byHook = await stream(ctx.apiKey, { query: `webhook_id=${okHook.id}` });
        const failed = await stream(ctx.apiKey, { query: 'status=failed' });
        await finishedRun(ctx, okAgent);
        await finishedRun(ctx, goneAgent);
        await all.waitFor(2);
        await failed.waitFor(1);
        await byHook.waitFor(1);
        await sleep(300);
        expect(byHook.attempts().map((a) => a.webhook_id)).toEqual([okHook.id]);
        expect(failed.attempts()).toEqual([
          expect.objectContaining({ webhook_id: goneHook.id, status: 'failed', http_status: 410 }),
        ]);
        expect(
          all
            .attempts()
            .map((a) => a.webhook_id)
            .sort(),
        ).toEqual([okHook.id, goneHook.id].sort());
      } finally {
        await gone.close();
      }
    });

    it('sends an attempt recorded after a later-started one (a slow receiver) too', async () => {
      const slow = await new Receiver().start();
      slow.behaviour = { kind: 'slow', delayMs: 800 };
      try {
        const slowAgent = await createAgent(ctx, 'slow agent');
        const fastAgent = await createAgent(ctx, 'fast agent');
        const slowHook = await createWebhook(ctx, { url: slow.url, agent_id: slowAgent });
        const fastHook = await createWebhook(ctx, { url: receiver.url, agent_id: fastAgent });
        const s = await stream(ctx.apiKey);
        await finishedRun(ctx, slowAgent);
        await slow.waitFor(1);
        await finishedRun(ctx, fastAgent);
        const events = await s.waitFor(2);
        // The slow attempt started first (its id sorts first) and was recorded last.
        expect(events.map((e) => JSON.parse(e.data).webhook_id)).toEqual([fastHook.id, slowHook.id]);
        expect((events[1]?.id ?? '') < (events[0]?.id ?? '')).toBe(true);
      } finally {
        await slow.close();
      }
    });

    it('resumes after Last-Event-ID with what was recorded meanwhile', async () => {
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      const first = await stream(ctx.apiKey);
      await finishedRun(ctx, agent);
      const [seen] = await first.waitFor(1);
      first.close();
      const missed = await finishedRun(ctx, agent);
      await receiver.waitFor(2);
      const delivery = await deliveryOfRun(ctx, missed.id);
      await eventually(async () => (await deliveryOfRun(ctx, missed.id)).status === 'succeeded');
      const resumed = await stream(ctx.apiKey, { lastEventId: seen?.id ?? '' });
      expect(resumed.status).toBe(200);
      await resumed.waitFor(1);
      await sleep(200);
      expect(resumed.attempts().map((a) => a.delivery_id)).toEqual([delivery.id]);
      expect(resumed.events[0]?.id).not.toBe(seen?.id);

      const bad = await stream(ctx.apiKey, { lastEventId: 'not-an-id' });
      expect(bad.status).toBe(400);
      expect(bad.code).toBe('INVALID_FIELD_VALUE');
    });

    it('refuses the 11th open stream of an organization, not another organization', async () => {
      const open: OpenStream[] = [];
      for (let i = 0; i < 10; i++) open.push(await stream(ctx.apiKey));
      expect(open.map((s) => s.status)).toEqual(Array(10).fill(200));
      const eleventh = await stream(ctx.apiKey);
      expect(eleventh.status).toBe(429);
      expect(eleventh.code).toBe('RATE_LIMITED');
      const other = await ctx.newOrg();
      expect((await stream(other.apiKey)).status).toBe(200);
      open[0]?.close();
      const again = await eventually(async () => {
        const s = await stream(ctx.apiKey);
        return s.status === 200 && s;
      }, 5_000);
      expect(again.status).toBe(200);
      const anonymous = await stream('sk_live_wrong');
      expect(anonymous.status).toBe(401);
    });

    it("never shows another organization's attempts", async () => {
      const other = await ctx.newOrg();
      const theirs = await stream(other.apiKey);
      const ours = await stream(ctx.apiKey);
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      await finishedRun(ctx, agent);
      await ours.waitFor(1);
      await sleep(300);
      expect(theirs.events).toEqual([]);
    });
  });
}

describe.skipIf(!postgresBackend)('live tail across API nodes [postgres]', () => {
  it('a stream on one node sees attempts a worker on another node records', async () => {
    if (!postgresBackend) return;
    const nodeA = await createTestContext(postgresBackend, { worker: false });
    const receiver = await new Receiver().start();
    const nodeB = await openRuntime(nodeA.config, nodeA.rt.logger);
    const appB = await buildApp({
      store: nodeB.store,
      config: nodeA.config,
      secretBox: nodeB.secretBox,
      send: nodeB.send,
    });
    const workerB = createWorkerWithHealth({
      store: nodeB.store,
      send: nodeB.send,
      settings: nodeA.config,
      config: nodeA.config,
      logger: nodeA.rt.logger,
    });
    workerB.start();
    let s: OpenStream | null = null;
    try {
      const base = await listen(nodeA);
      const agent = await createAgent(nodeA);
      const hook = await createWebhook(nodeA, { url: receiver.url, agent_id: agent });
      s = await openStream(base, nodeA.apiKey);
      await finishedRun(nodeA, agent);
      const [event] = await s.waitFor(1);
      expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ webhook_id: hook.id, status: 'succeeded' });
    } finally {
      s?.close();
      await workerB.stop(2_000);
      await appB.close();
      await closeRuntime(nodeB);
      await nodeA.close();
      await receiver.close();
    }
  });
});
