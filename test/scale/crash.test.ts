/**
 * Scale-out under crashes (docs/scaling-out.md): of two `runhook worker` processes on one PostgreSQL schema,
 * one is SIGKILLed 300 ms after each start, and restarted, for as long as a 5,000-event run lasts.
 * Nothing is lost: every event reaches its receiver and every delivery ends `succeeded`. The
 * only duplicates are attempts the killed process had on the wire: at most its concurrency per
 * kill (its leases run out after RUNHOOK_CLAIM_LEASE=1s and the survivor sends them again).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, type Spawned } from '../helpers/cli.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  allSucceeded,
  createTenants,
  deliveryCounts,
  finishRuns,
  hitsPerEvent,
  Processes,
  scaleBackend,
  sqlClient,
  WEBHOOK_CAP,
} from './support.js';

const EVENTS = 5_000;
const RECEIVERS = 5;
/** RUNHOOK_WORKER_CONCURRENCY of both workers: the most one kill can leave on the wire. */
const WORKER_CONCURRENCY = 16;
const KILL_AFTER_MS = 300;

beforeAll(() => ensureBuilt(), 120_000);

describe.skipIf(!scaleBackend)('a worker SIGKILLed again and again beside another', () => {
  let ctx: TestContext | undefined;
  let receivers: Receiver[] = [];
  const processes = new Processes();

  afterEach(async () => {
    await processes.killAll();
    await ctx?.close();
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  it(`${EVENTS} events while one of two workers is killed every ${KILL_AFTER_MS} ms: none lost, duplicates only from the kills`, async () => {
    ctx = await createTestContext(scaleBackend!);
    receivers = await Promise.all(Array.from({ length: RECEIVERS }, () => startReceiver()));
    // Slow enough answers that every kill finds attempts in flight.
    for (const r of receivers) r.behaviour = { kind: 'slow', delayMs: 15 };
    const tenants = await createTenants(ctx, receivers);
    const env = {
      RUNHOOK_DATABASE_URL: ctx.db.url,
      RUNHOOK_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    };

    const survivor = processes.start(['worker'], env);
    await survivor.waitForOutput('started');

    let finished = false;
    let kills = 0;
    let inFlightAtKills = 0;
    const victimLoop = (async () => {
      while (!finished) {
        const victim: Spawned = processes.start(['worker'], env);
        await victim.waitForOutput('started');
        await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
        inFlightAtKills += receivers.reduce((n, r) => n + r.inFlight, 0);
        victim.child.kill('SIGKILL');
        expect(await victim.exited).toBeNull(); // killed by the signal, no exit code
        kills++;
      }
    })();

    const db = await sqlClient(ctx.db.url);
    try {
      const started = Date.now();
      await finishRuns(ctx, tenants, EVENTS);
      await allSucceeded(db, EVENTS, 120_000);
      finished = true;
      await victimLoop;
      const done = Date.now();

      const hits = hitsPerEvent(receivers);
      const received = [...hits.values()].reduce((a, b) => a + b, 0);
      const duplicates = received - hits.size;
      // None lost: every event reached its receiver and every delivery is succeeded.
      expect(hits.size).toBe(EVENTS);
      const counts = await deliveryCounts(db);
      expect(counts).toMatchObject({ succeeded: EVENTS, pending: 0, failed: 0, events: EVENTS });
      // The kills were real: several, during the run.
      expect(kills).toBeGreaterThanOrEqual(3);
      // Duplicates only for attempts in flight at a kill.
      expect(duplicates).toBeLessThanOrEqual(kills * WORKER_CONCURRENCY);
      for (const r of receivers) expect(r.maxInFlight).toBeLessThanOrEqual(WEBHOOK_CAP);
      process.stdout.write(
        `[scale] kill test: ${kills} kills in ${done - started} ms, ${received} requests for ${EVENTS} events ` +
          `(${duplicates} duplicates; bound ${kills} × ${WORKER_CONCURRENCY}; requests in flight at the kills, ` +
          `both workers together: ${inFlightAtKills}); attempts logged ${counts.attempts}\n`,
      );
    } finally {
      finished = true;
      await victimLoop.catch(() => {});
      await db.end();
    }
  }, 180_000);
});
