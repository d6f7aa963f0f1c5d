/**
 * Retention (docs/operations.md#retention) on both backends, with the sweeper's clock moved past
 * the retention: finished deliveries, their attempts and orphaned events go, in transactions of at
 * most 1,000 rows; runs and pending deliveries stay; the run says its history expired; and under a
 * steady load the SQLite file stops growing.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRetentionSweeper, sweepIntervalMs } from '../../src/retention/sweeper.js';
import { MAX_ROWS } from '../../src/store/ops/retention.js';
import { createAgent, createWebhook, finishedRun } from '../delivery/support.js';
import { type Backend, backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const DAY = 86_400_000;
const RETENTION = 30 * DAY;

/** Row counts read straight from the database, beside the app. */
async function countRows(backend: Backend, url: string): Promise<Record<string, number>> {
  const tables = ['test_runs', 'events', 'deliveries', 'attempts'];
  const out: Record<string, number> = {};
  if (backend.name === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      for (const t of tables)
        out[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
    return out;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const t of tables) out[t] = Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  } finally {
    await client.end();
  }
  return out;
}

/** Rounds of the steady-load test. */
const ROUNDS = 3;

async function finishRuns(ctx: TestContext, agentId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, () => finishedRun(ctx, agentId)),
    );
    ids.push(...batch.map((r) => r.id));
  }
  return ids;
}

async function allSettled(ctx: TestContext): Promise<void> {
  await eventually(
    async () => (await ctx.api('GET', '/api/v1/deliveries?status=pending&limit=1')).body.total === 0,
    60_000,
    'every delivery to finish',
  );
}

it('the sweep interval is min(1 hour, retention / 4)', () => {
  expect(sweepIntervalMs(30 * DAY)).toBe(3_600_000);
  expect(sweepIntervalMs(2 * 3_600_000)).toBe(1_800_000);
  expect(sweepIntervalMs(60_000)).toBe(15_000);
});

for (const backend of backends) {
  describe(`retention (${backend.name})`, () => {
    let ctx: TestContext;
    let ok: Receiver;
    let failing: Receiver;
    beforeEach(async () => {
      ok = await startReceiver();
      ok.behaviour = { kind: 'status', status: 200, body: 'x'.repeat(2_000) };
      failing = await startReceiver();
      failing.behaviour = { kind: 'status', status: 500 };
      // Retries an hour apart: a failed first attempt leaves its delivery pending for the test.
      ctx = await createTestContext(backend, { worker: true, env: { RUNHOOK_RETRY_SCHEDULE: '1h' } });
    });
    afterEach(async () => {
      await ctx.close();
      await ok.close();
      await failing.close();
    });

    const sweeper = (offsetMs: number) =>
      createRetentionSweeper({
        store: ctx.rt.store,
        retentionMs: RETENTION,
        logger: ctx.rt.logger,
        now: () => Date.now() + offsetMs,
      });

    it('deletes expired finished deliveries, their attempts and events; keeps runs and pending deliveries; marks the runs', async () => {
      const agent = await createAgent(ctx, 'delivered');
      const stuck = await createAgent(ctx, 'stuck');
      await createWebhook(ctx, { url: ok.url });
      await createWebhook(ctx, { url: failing.url, agent_id: stuck });
      const delivered = await finishRuns(ctx, agent, 20);
      const pendingRun = (await finishedRun(ctx, stuck)).id;
      const withoutWebhookAgent = await createAgent(ctx, 'no webhook reaches me');
      // Every webhook of this org is scoped; an agent without one falls back to the org webhook,
      // so take the org webhook away for one run that then has no delivery at all.
      const hooks = (await ctx.api('GET', '/api/v1/webhooks')).body.webhooks as Array<{
        id: string;
        agent_id: string | null;
      }>;
      const orgHook = hooks.find((h) => h.agent_id === null)!;
      await allDeliveredOrRetrying(ctx, 21);
      expect((await ctx.api('DELETE', `/api/v1/webhooks/${orgHook.id}`)).status).toBe(204);
      const noDelivery = (await finishedRun(ctx, withoutWebhookAgent)).id;

      const before = await countRows(backend, ctx.db.url);
      expect(before).toMatchObject({ test_runs: 22, events: 22, deliveries: 21, attempts: 21 });

      // Not expired yet: nothing goes.
      const early = await sweeper(0).sweepOnce();
      expect(early).toMatchObject({ deliveries: 0, attempts: 0, events: 0, complete: true });

      // A day past the retention: the 20 delivered ones go, with the events left without deliveries.
      const totals = await sweeper(RETENTION + DAY).sweepOnce();
      expect(totals).toMatchObject({
        deliveries: 20,
        attempts: 20,
        events: 21,
        runsMarked: 20,
        complete: true,
      });
      const after = await countRows(backend, ctx.db.url);
      expect(after).toEqual({ test_runs: 22, events: 1, deliveries: 1, attempts: 1 });

      // The API: runs are all there and say whether their delivery history expired.
      expect((await ctx.api('GET', '/api/v1/runs?limit=100')).body.total).toBe(22);
      const gone = (await ctx.api('GET', `/api/v1/runs/${delivered[0]}`)).body;
      expect(gone.deliveries_expired_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect((await ctx.api('GET', `/api/v1/deliveries?test_run_id=${delivered[0]}`)).body.total).toBe(0);
      expect((await ctx.api('GET', `/api/v1/runs/${pendingRun}`)).body.deliveries_expired_at).toBeNull();
      expect((await ctx.api('GET', `/api/v1/runs/${noDelivery}`)).body.deliveries_expired_at).toBeNull();
      const pending = (await ctx.api('GET', '/api/v1/deliveries')).body.deliveries;
      expect(pending).toHaveLength(1);
      expect(pending[0].status).toBe('pending');
    });

    it('works in transactions of at most 1,000 rows', async () => {
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: ok.url });
      await finishRuns(ctx, agent, 400);
      await allSettled(ctx);
      const cutoff = Date.now() + 1_000;
      const batches = [];
      for (;;) {
        const b = await ctx.rt.store.pruneExpired({ cutoff, now: Date.now() });
        batches.push(b);
        expect(b.deliveries + b.attempts + b.events + b.runsMarked).toBeLessThanOrEqual(MAX_ROWS);
        if (b.done) break;
        expect(batches.length).toBeLessThan(20);
      }
      // 400 deliveries × (itself, 1 attempt, its run's mark) = 1,200 rows: at least two transactions.
      expect(batches.filter((b) => b.deliveries > 0).length).toBeGreaterThanOrEqual(2);
      expect(batches.reduce((n, b) => n + b.deliveries, 0)).toBe(400);
      expect(batches.reduce((n, b) => n + b.events, 0)).toBe(400);
      expect(await countRows(backend, ctx.db.url)).toEqual({
        test_runs: 400,
        events: 0,
        deliveries: 0,
        attempts: 0,
      });
    }, 120_000);

    it('under a steady load the store stops growing: rounds of 300 delivered runs, swept after each', async () => {
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: ok.url });
      const baseline = (await ctx.rt.store.storeStats()).sizeBytes;
      const peaks: number[] = [];
      // Three rounds: reuse shows from the second on, so two growths to compare (five added nothing).
      for (let round = 0; round < ROUNDS; round++) {
        await finishRuns(ctx, agent, 300);
        await allSettled(ctx);
        peaks.push((await ctx.rt.store.storeStats()).sizeBytes);
        const totals = await sweeper(RETENTION + 1_000).sweepOnce();
        expect(totals?.deliveries).toBe(300);
        // A new SQLite file uses auto_vacuum=INCREMENTAL: most of what was freed goes back to the disk.
        if (backend.name === 'sqlite') expect(totals?.pagesReleased).toBeGreaterThan(0);
        expect(await countRows(backend, ctx.db.url)).toMatchObject({ deliveries: 0, attempts: 0, events: 0 });
      }
      expect((await countRows(backend, ctx.db.url)).test_runs).toBe(ROUNDS * 300);
      if (backend.name === 'sqlite') {
        // Each later round reuses the pages the previous sweep freed: the peak grows only by the
        // runs, which are kept (a few % of a round). Without reuse it would grow by a whole round.
        const firstRound = peaks[0]! - baseline;
        const growth = peaks.slice(1).map((p, i) => p - peaks[i]!);
        expect(Math.max(...growth), `baseline ${baseline}, peaks ${peaks.join(', ')}`).toBeLessThan(
          firstRound * 0.15,
        );
      }
    }, 240_000);
  });
}

/** Waits until each of `n` deliveries has had its first attempt (delivered, or failed and retrying). */
async function allDeliveredOrRetrying(ctx: TestContext, n: number): Promise<void> {
  await eventually(
    async () => {
      const list = (await ctx.api('GET', '/api/v1/deliveries?limit=100')).body.deliveries as Array<{
        attempt_count: number;
      }>;
      return list.length === n && list.every((d) => d.attempt_count > 0);
    },
    30_000,
    `${n} deliveries to have an attempt`,
  );
}
