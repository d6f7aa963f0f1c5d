/**
 * At-least-once (docs/delivery.md#leases-and-at-least-once): `runhook worker` in a child process is SIGKILLed while attempts are in
 * flight and events are still being accepted; a second worker started afterwards delivers every
 * event. The API runs in this process (no in-process worker), the worker only in the child.
 *
 * Needs dist/: `npm test` builds first; run alone, ensureBuilt() rebuilds what of dist/ is older
 * than its sources (scripts/build.mjs).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';
import { createTestContext, eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, finishedRun, getDelivery } from './support.js';

const RUNS = 200;
const KILL_AFTER = 40;

beforeAll(() => ensureBuilt(), 120_000);

for (const backend of backends) {
  describe(`worker crash [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    const children: Spawned[] = [];
    afterEach(async () => {
      for (const p of children.splice(0)) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
        await p.exited;
      }
      await ctx?.close();
      await receiver?.close();
    });

    function startWorkerProcess(): Spawned {
      const p = runCli(['worker'], {
        ...TEST_ENV,
        RUNHOOK_DATABASE_URL: ctx.db.url,
        // A dead worker's claims come back after a second.
        RUNHOOK_CLAIM_LEASE: '1s',
        RUNHOOK_WEBHOOK_CONCURRENCY: '32',
        RUNHOOK_LOG_LEVEL: 'warn',
      });
      children.push(p);
      return p;
    }

    it(`SIGKILL with ${KILL_AFTER}+ attempts sent of ${RUNS}: a restarted worker delivers every event`, async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      // Slow answers keep attempts in flight when the kill lands.
      receiver.behaviour = { kind: 'slow', delayMs: 150 };
      await createWebhook(ctx, { url: receiver.url, secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD' });
      const agentId = await createAgent(ctx);

      const first = startWorkerProcess();
      await first.waitForOutput('started');

      // Runs are finished through the API, ten at a time, while the worker delivers.
      const created = (async () => {
        for (let i = 0; i < RUNS; i += 10) {
          const batch = Array.from({ length: Math.min(10, RUNS - i) }, (_, j) =>
            ctx.api('POST', '/api/v1/runs', {
              agent_id: agentId,
              name: `run ${i + j}`,
              status: 'completed',
              passed_count: 1,
            }),
          );
          for (const res of await Promise.all(batch)) expect(res.status).toBe(201);
        }
      })();

      await receiver.waitFor(KILL_AFTER, 15_000);
      const inFlightAtKill = receiver.inFlight;
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull(); // killed by the signal, no exit code
      await created;
      // Attempts were on the wire when the worker died: their answers never reached it.
      expect(inFlightAtKill).toBeGreaterThan(0);
      const seenBeforeRestart = receiver.requests.length;
      expect(seenBeforeRestart).toBeLessThan(RUNS);

      const second = startWorkerProcess();
      await second.waitForOutput('started');
      await eventually(
        async () => {
          const ok = await ctx.api('GET', '/api/v1/deliveries?status=succeeded&limit=1');
          return ok.body.total === RUNS;
        },
        30_000,
        `all ${RUNS} deliveries to succeed`,
      );

      // Every event reached the receiver at least once, and every delivery is logged as succeeded.
      const deliveries: Array<{ id: string; event_id: string; status: string }> = [];
      for (let offset = 0; offset < RUNS; offset += 100) {
        const page = await ctx.api('GET', `/api/v1/deliveries?limit=100&offset=${offset}`);
        deliveries.push(...page.body.deliveries);
      }
      expect(deliveries).toHaveLength(RUNS);
      expect(deliveries.every((d) => d.status === 'succeeded')).toBe(true);
      const seen = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      const missing = deliveries.filter((d) => !seen.has(d.event_id));
      expect(missing).toEqual([]);
      const duplicates = receiver.requests.length - seen.size;
      // At-least-once, not at-random: only a delivery the dead worker held a lease on goes out twice
      // (its history shows the lost attempt before the second send), and never more than
      // RUNHOOK_WEBHOOK_CONCURRENCY (32) requests at once, before the kill or after.
      const sends = new Map<string, number>();
      for (const r of receiver.requests) {
        const id = r.headers['webhook-id'] as string;
        sends.set(id, (sends.get(id) ?? 0) + 1);
      }
      const twice = deliveries.filter((d) => (sends.get(d.event_id) ?? 0) > 1);
      expect(twice).toHaveLength(duplicates);
      for (const d of twice) {
        const detail = await getDelivery(ctx, d.id);
        expect(detail.attempts.map((a) => a.error_class)).toEqual(['worker_lost', null]);
      }
      expect(receiver.maxInFlight).toBeLessThanOrEqual(32);

      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      console.log(
        `[${backend.name}] crash: ${seenBeforeRestart} requests before the restart (${inFlightAtKill} in flight at the kill), ` +
          `${receiver.requests.length} in all, ${duplicates} duplicates, ${RUNS} delivered`,
      );
    });

    it('SIGTERM with attempts in flight: they finish and are recorded, the process exits 0, nothing is sent twice', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      receiver.behaviour = { kind: 'slow', delayMs: 300 };
      await createWebhook(ctx, { url: receiver.url });
      const agentId = await createAgent(ctx);
      const first = startWorkerProcess();
      await first.waitForOutput('started');
      for (let i = 0; i < 40; i++) await finishedRun(ctx, agentId);

      await receiver.waitFor(8, 15_000);
      const inFlightAtSignal = receiver.inFlight;
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(inFlightAtSignal).toBeGreaterThan(0);
      // Everything the receiver got before the exit is recorded as delivered: no answer was lost.
      const sent = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      const succeeded = await ctx.api('GET', '/api/v1/deliveries?status=succeeded&limit=1');
      expect(succeeded.body.total).toBe(sent.size);

      const second = startWorkerProcess();
      await second.waitForOutput('started');
      await eventually(
        async () => (await ctx.api('GET', '/api/v1/deliveries?status=succeeded&limit=1')).body.total === 40,
        15_000,
        'all 40 deliveries to succeed',
      );
      expect(receiver.requests).toHaveLength(40);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(40);
    });
  });
}
