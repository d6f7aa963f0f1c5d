/**
 * The worker's life cycle: it wakes on new work instead of polling, so a new event is on the wire
 * within milliseconds (docs/architecture.md#waking-workers), and stop() lets in-flight attempts
 * finish and records them, or hands back what did not finish within its grace period.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * The idle worker's poll in the wake-up test: far longer than any wait in it, so a delivery that
 * arrives at all was sent because the worker was woken, not because it polled.
 */
const NEVER_POLL_MS = 10 * 60_000;
const SAMPLES = 5;

for (const backend of backends) {
  describe(`worker life cycle [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let extra: Worker | undefined;
    afterEach(async () => {
      await receiver.close();
      await extra?.stop(1_000);
      extra = undefined;
      await ctx.close();
    });

    async function setup(env: Record<string, string> = {}) {
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, env }),
        startReceiver(),
      ]);
      await createWebhook(ctx, { url: receiver.url });
      return createAgent(ctx);
    }

    it('an idle worker is woken by new work: it never needs its poll', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      await createWebhook(ctx, { url: receiver.url });
      const agentId = await createAgent(ctx);
      extra = startWorker(ctx, {}, { idlePollMs: NEVER_POLL_MS });
      // Warm-up: the worker's wake-up channel (on PostgreSQL a LISTEN connection) opens in the
      // background; until it is up a wake-up can be missed, so send until one arrives promptly.
      let sent = 0;
      for (let tries = 0; receiver.requests.length === 0 || receiver.requests.length < sent; tries++) {
        expect(tries, 'no wake-up reached the worker during warm-up').toBeLessThan(10);
        await finishedRun(ctx, agentId);
        sent++;
        await receiver.waitFor(sent, 2_000).catch(() => undefined);
      }
      const latencies: number[] = [];
      for (let i = 1; i <= SAMPLES; i++) {
        // Let the worker go back to sleep: nothing is due, so it sleeps for NEVER_POLL_MS.
        await sleep(150);
        const t0 = Date.now();
        await finishedRun(ctx, agentId);
        // Generous: only a wake-up can deliver it before the poll, which is minutes away.
        await receiver.waitFor(sent + i, 30_000);
        latencies.push(receiver.requests[sent + i - 1]!.at - t0);
      }
      console.log(`[${backend.name}] wake-up latency, API call → receiver: ${latencies.join(', ')} ms`);
    });

    it('an attempt slower than the claim lease keeps its lease: a second worker does not send it again', async () => {
      // Lease 1 s, answer after 2.5 s: only the holder's heartbeat (every lease/3) keeps it. A
      // heartbeat may be late by up to two thirds of the lease on a loaded box without losing it.
      const agentId = await setup({ RUNHOOK_CLAIM_LEASE: '1s', RUNHOOK_ATTEMPT_TIMEOUT: '5s' });
      extra = startWorker(ctx);
      receiver.behaviour = { kind: 'slow', delayMs: 2_500 };
      const run = await finishedRun(ctx, agentId);
      const d = await settled(ctx, (await deliveryOfRun(ctx, run.id)).id, 10_000);
      expect(d).toMatchObject({ status: 'succeeded', attempt_count: 1 });
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.maxInFlight).toBe(1);
    });

    it('stop() waits for an attempt in flight, records it, and claims nothing more', async () => {
      const agentId = await setup();
      receiver.behaviour = { kind: 'slow', delayMs: 400 };
      const run = await finishedRun(ctx, agentId);
      await receiver.waitFor(1);
      expect(receiver.answered).toBe(0);
      await ctx.worker!.stop(5_000);
      expect(receiver.answered).toBe(1); // it waited for the answer

      const d = await getDelivery(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(d).toMatchObject({ status: 'succeeded', attempt_count: 1, last_http_status: 200 });
      expect(d.attempts).toHaveLength(1);

      // Stopped: a new event stays pending (a short wait is the only way to see "nothing happens").
      const later = await deliveryOfRun(ctx, (await finishedRun(ctx, agentId)).id);
      await sleep(300);
      expect((await getDelivery(ctx, later.id)).status).toBe('pending');
      expect(receiver.requests).toHaveLength(1);
    });

    it('stop() hands back an attempt that outlives its grace; the abandoned attempt writes nothing later', async () => {
      const agentId = await setup({ RUNHOOK_ATTEMPT_TIMEOUT: '2s', RUNHOOK_CLAIM_LEASE: '30s' });
      receiver.script = [{ kind: 'hang' }, { kind: 'status', status: 200 }];
      const run = await finishedRun(ctx, agentId);
      const deliveryId = (await deliveryOfRun(ctx, run.id)).id;
      await receiver.waitFor(1);
      await ctx.worker!.stop(100);
      // stop() did not wait for the attempt's timeout: the request is still hanging.
      expect(receiver.inFlight).toBe(1);

      // Handed back at once, not after the 30 s lease: a new worker sends it while the first
      // attempt is still hanging.
      extra = startWorker(ctx);
      const d = await settled(ctx, deliveryId, 10_000);
      expect(d).toMatchObject({ status: 'succeeded', attempt_count: 1 });
      expect(receiver.requests).toHaveLength(2);
      // The first attempt times out and closes its connection; its late outcome must not reach
      // the log or the webhook (a short wait after the close is the only way to see nothing happen).
      await eventually(async () => receiver.inFlight === 0, 10_000, 'the abandoned attempt to time out');
      await sleep(300);
      const after = await getDelivery(ctx, deliveryId);
      expect(after.attempts.map((a) => [a.attempt_number, a.http_status])).toEqual([[1, 200]]);
      expect(after.status).toBe('succeeded');
      const hook = (await ctx.api('GET', '/api/v1/webhooks')).body.webhooks[0];
      expect((await getWebhook(ctx, hook.id)).consecutive_failures).toBe(0);
      expect(receiver.requests).toHaveLength(2);
    });
  });
}
