/**
 * Scoping and "disabled or deleted while pending" (docs/delivery.md), end to end: which receiver a real
 * worker sends to, and what it does with deliveries whose webhook went away before they were sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  createAgent,
  createWebhook,
  deliveryOfRun,
  finishedRun,
  getDelivery,
  getWebhook,
  settled,
  startWorker,
} from './support.js';

/** Takes the webhook out of service the way a user would. */
async function takeDown(ctx: TestContext, how: 'disable' | 'delete', id: string): Promise<void> {
  const res =
    how === 'disable'
      ? await ctx.api('PATCH', `/api/v1/webhooks/${id}`, { is_enabled: false })
      : await ctx.api('DELETE', `/api/v1/webhooks/${id}`);
  expect(res.status).toBe(how === 'disable' ? 200 : 204);
}

for (const backend of backends) {
  describe(`delivery scoping [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let worker: Worker | undefined;
    let org: Receiver;
    let own: Receiver;
    afterEach(async () => {
      await worker?.stop(1_000);
      worker = undefined;
      await ctx?.close();
      ctx = undefined;
      await Promise.all([org.close(), own.close()]);
    });

    async function setup(options: { worker: boolean; env?: Record<string, string> }) {
      [ctx, org, own] = await Promise.all([
        createTestContext(backend, options),
        startReceiver(),
        startReceiver(),
      ]);
      return ctx;
    }

    it("an agent's own webhook wins over the org's; another agent's run goes to the org's", async () => {
      const c = await setup({ worker: true });
      const orgHook = await createWebhook(c, { url: org.url });
      const a = await createAgent(c, 'A');
      const b = await createAgent(c, 'B');
      const aHook = await createWebhook(c, { url: own.url, agent_id: a });

      const runA = await finishedRun(c, a);
      const runB = await finishedRun(c, b);
      const [dA, dB] = [await deliveryOfRun(c, runA.id), await deliveryOfRun(c, runB.id)];
      expect(dA.webhook_id).toBe(aHook.id);
      expect(dB.webhook_id).toBe(orgHook.id);
      expect((await settled(c, dA.id)).status).toBe('succeeded');
      expect((await settled(c, dB.id)).status).toBe('succeeded');
      expect(own.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([runA.id]);
      expect(org.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([runB.id]);
    });

    it("a disabled agent webhook falls back to the org's", async () => {
      const c = await setup({ worker: true });
      const orgHook = await createWebhook(c, { url: org.url });
      const a = await createAgent(c, 'A');
      await createWebhook(c, { url: own.url, agent_id: a, is_enabled: false });

      const run = await finishedRun(c, a);
      const d = await deliveryOfRun(c, run.id);
      expect(d.webhook_id).toBe(orgHook.id);
      expect((await settled(c, d.id)).status).toBe('succeeded');
      expect(org.requests.map((r) => JSON.parse(r.body).test_run.agent_id)).toEqual([a]);
      expect(own.requests).toHaveLength(0);
    });

    for (const how of ['disable', 'delete'] as const) {
      it(`webhook ${how}d before its deliveries were sent: they end failed without sending`, async () => {
        // No worker yet: the deliveries wait, then the webhook goes, then a worker starts.
        const c = await setup({ worker: false });
        const hook = await createWebhook(c, { url: own.url });
        const a = await createAgent(c, 'A');
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await deliveryOfRun(c, (await finishedRun(c, a)).id)).id);
        await takeDown(c, how, hook.id);

        worker = startWorker(c);
        for (const id of ids) {
          const d = await settled(c, id);
          expect(d).toMatchObject({ status: 'failed', attempt_count: 0, last_http_status: null });
          expect(d.attempts).toEqual([]);
        }
        expect(own.requests).toHaveLength(0);
        if (how === 'disable') expect((await getWebhook(c, hook.id)).consecutive_failures).toBe(0);
      });

      it(`webhook ${how}d while a retry is pending: the retry ends failed without sending`, async () => {
        // A first attempt fails; the retry is 1.5 s away, long enough to take the webhook down first.
        const c = await setup({ worker: true, env: { RUNHOOK_RETRY_SCHEDULE: '1500ms,1500ms,1500ms' } });
        own.behaviour = { kind: 'status', status: 503 };
        const hook = await createWebhook(c, { url: own.url });
        const a = await createAgent(c, 'A');
        const d = await deliveryOfRun(c, (await finishedRun(c, a)).id);
        await eventually(
          async () => (await getDelivery(c, d.id)).attempt_count === 1,
          5_000,
          'first attempt',
        );
        await takeDown(c, how, hook.id);
        own.behaviour = { kind: 'status', status: 200 };

        const done = await settled(c, d.id, 5_000);
        expect(done).toMatchObject({ status: 'failed', attempt_count: 1, last_http_status: 503 });
        expect(done.attempts).toHaveLength(1);
        expect(own.requests).toHaveLength(1);
      });
    }
  });
}
