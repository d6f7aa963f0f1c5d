/**
 * Scale-out under crashes (docs/scaling-out.md): of two `runhook worker` processes on one PostgreSQL schema,
 * one is SIGKILLed 300 ms after each start, and restarted, for as long as the run lasts: events
 * are finished in batches until at least 1,000 exist and at least three kills happened, so every
 * kill falls while events are being delivered.
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

/**
 * What a kill can lose is what is on the wire or leased at that moment, so the kills are the
 * test, not the event count: events keep coming until both floors are passed (a fixed 5,000 made
 * the run last a minute for the same eleven kills' worth of evidence).
 */
const MIN_EVENTS = 1_000;
const MIN_KILLS = 3;
const BATCH = 100;
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

  it(`${MIN_EVENTS}+ events while one of two workers is killed every ${KILL_AFTER_MS} ms: none lost, duplicates only from the kills`, async () => {
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
    // A slow start on a loaded machine is no failure of what this tests.
    await survivor.waitForOutput('started', 60_000);

    let finished = false;
    let kills = 0;
    let inFlightAtKills = 0;
    const victimLoop = (async () => {
      while (!finished) {
        const victim: Spawned = processes.start(['worker'], env);
        await victim.waitForOutput('started', 60_000);
        await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
        inFlightAtKills += receivers.reduce((n, r) => n + r.inFlight, 0);
        victim.child.kill('SIGKILL');
        expect(await victim.exited).toBeNull(); // killed by the signal, no exit code
        kills++;
      }
    })();
    // Ends the loop below that waits for kills; `await victimLoop` then reports why it stopped.
    let victimLoopFailed = false;
    victimLoop.catch(() => {
      victimLoopFailed = true;
    });

    const db = await sqlClient(ctx.db.url);
    try {
      const started = Date.now();
      let events = 0;
      while ((events < MIN_EVENTS || kills < MIN_KILLS) && !victimLoopFailed) {
        await finishRuns(ctx, tenants, BATCH);
        events += BATCH;
      }
      if (victimLoopFailed) await victimLoop;
      await allSucceeded(db, events, 120_000);
      finished = true;
      await victimLoop;
      const done = Date.now();

      const hits = hitsPerEvent(receivers);
      const received = [...hits.values()].reduce((a, b) => a + b, 0);
      const duplicates = received - hits.size;
      // None lost: every event reached its receiver and every delivery is succeeded.
      expect(hits.size).toBe(events);
      const counts = await deliveryCounts(db);
      expect(counts).toMatchObject({ succeeded: events, pending: 0, failed: 0, events });
      // The kills were real: several, during the run.
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      // Duplicates only for attempts in flight at a kill.
      expect(duplicates).toBeLessThanOrEqual(kills * WORKER_CONCURRENCY);
      for (const r of receivers) expect(r.maxInFlight).toBeLessThanOrEqual(WEBHOOK_CAP);
      process.stdout.write(
        `[scale] kill test: ${kills} kills in ${done - started} ms, ${received} requests for ${events} events ` +
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
