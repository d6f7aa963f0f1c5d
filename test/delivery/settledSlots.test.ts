/**
 * The caps count attempts in flight, not results waiting to be written
 * (docs/operations.md#fairness-and-limits): an attempt that has its answer frees its slot at once,
 * so the worker sends the next delivery while the previous results are still being committed, and
 * still never has more than the cap's requests at the receiver. Both backends; the store is real,
 * only its recordResults is slowed down.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import type { DeliveryResult, Store } from '../../src/store/store.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  createAgent,
  createWebhook,
  type DeliveryJson,
  finishedRun,
  startWorker,
  webhookWithBacklog,
  wrapStoreMethod,
} from './support.js';

/** How long each recordResults waits before it writes: far longer than a send. */
const RECORD_DELAY_MS = 250;

interface RecordCall {
  ids: string[];
  startedAt: number;
  /** When its transaction had committed (Infinity until then). */
  committedAt: number;
}

/** The context's store, with every recordResults held back by RECORD_DELAY_MS. */
function slowRecording(store: Store, calls: RecordCall[]): Store {
  return wrapStoreMethod(store, 'recordResults', (record) => async (results: DeliveryResult[]) => {
    const call = { ids: results.map((r) => r.deliveryId), startedAt: Date.now(), committedAt: Infinity };
    calls.push(call);
    await sleep(RECORD_DELAY_MS);
    await record(results);
    call.committedAt = Date.now();
  });
}

for (const backend of backends) {
  describe(`settled attempts free their slot before their result is written [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let worker: Worker | undefined;
    afterEach(async () => {
      await worker?.stop(2_000);
      worker = undefined;
      await receiver?.close();
      await ctx?.close();
    });

    function start(calls: RecordCall[], caps: { webhookConcurrency?: number; orgConcurrency?: number }) {
      worker = startWorker(ctx, caps, { store: slowRecording(ctx.rt.store, calls) });
    }

    /** Waits until all `n` deliveries succeeded; returns them. */
    async function allSucceeded(n: number): Promise<DeliveryJson[]> {
      return eventually(
        async () => {
          const res = await ctx.api('GET', '/api/v1/deliveries?status=succeeded&limit=100');
          // The page and its total are two reads: wait until both show all n.
          const page = res.body.deliveries as DeliveryJson[];
          return res.body.total === n && page.length === n && page;
        },
        30_000,
        `all ${n} deliveries to succeed`,
      );
    }

    it('per-webhook cap 2: at most 2 requests at the receiver, and more sends go out before the first results are committed', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 30 };
      const runs = 24;
      await webhookWithBacklog(ctx, receiver, runs);

      const calls: RecordCall[] = [];
      start(calls, { webhookConcurrency: 2 });
      const deliveries = await allSucceeded(runs);

      expect(receiver.maxInFlight).toBeLessThanOrEqual(2);
      // Exactly one attempt per delivery: every send was recorded once, none sent twice.
      expect(receiver.requests).toHaveLength(runs);
      expect(deliveries.map((d) => d.attempt_count)).toEqual(Array(runs).fill(1));
      const recorded = calls.flatMap((c) => c.ids);
      expect(new Set(recorded).size).toBe(runs);
      expect(recorded).toHaveLength(runs);
      // The first write took RECORD_DELAY_MS; meanwhile the slots its answers held were used again.
      const first = calls[0] as RecordCall;
      const sentBeforeFirstCommit = receiver.requests.filter((r) => r.at < first.committedAt).length;
      console.log(
        `[${backend.name}] sent before the first result was committed: ${sentBeforeFirstCommit} (cap 2), ${calls.length} writes`,
      );
      expect(sentBeforeFirstCommit).toBeGreaterThan(first.ids.length);
      expect(sentBeforeFirstCommit).toBeGreaterThan(2);
    }, 60_000);

    it('per-organization cap 3 over two webhooks: at most 3 requests at once while results wait to be written', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 30 };
      const agents = [await createAgent(ctx, 'one'), await createAgent(ctx, 'two')];
      await createWebhook(ctx, { url: receiver.url, agent_id: agents[0] });
      await createWebhook(ctx, { url: `${receiver.url}?second`, agent_id: agents[1] });
      const runs = 24;
      for (let i = 0; i < runs; i++) await finishedRun(ctx, agents[i % 2] as string);

      const calls: RecordCall[] = [];
      start(calls, { webhookConcurrency: 8, orgConcurrency: 3 });
      const deliveries = await allSucceeded(runs);

      expect(receiver.maxInFlight).toBeLessThanOrEqual(3);
      expect(receiver.requests).toHaveLength(runs);
      expect(deliveries.map((d) => d.attempt_count)).toEqual(Array(runs).fill(1));
      const first = calls[0] as RecordCall;
      expect(receiver.requests.filter((r) => r.at < first.committedAt).length).toBeGreaterThan(3);
    }, 60_000);
  });
}
