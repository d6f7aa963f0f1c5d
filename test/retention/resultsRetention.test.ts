/**
 * Results retention (docs/api.md#test-history) on both backends, with the sweeper's clock moved
 * past RUNHOOK_RESULTS_RETENTION: scenario results go in batches of at most 1,000; the run keeps its
 * counts, failures and changes, and each test its recent outcomes.
 */

import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRetentionSweeper } from '../../src/retention/sweeper.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const DAY = 86_400_000;

for (const backend of backends) {
  describe(`results retention [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('deletes old results in bounded batches; runs keep counts, failures and changes', async () => {
      const results = (fail: boolean) =>
        Array.from({ length: 1200 }, (_, i) => ({
          name: `t${i}`,
          status: fail && i === 0 ? 'failed' : 'passed',
        }));
      const first = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        results: results(false),
      });
      const second = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        results: results(true),
      });
      expect(second.status, JSON.stringify(second.body)).toBe(201);
      let clock = Date.now();
      const batches: number[] = [];
      const store = ctx.rt.store;
      const sweeper = createRetentionSweeper({
        store: {
          ...store,
          withRetentionLock: (f) => store.withRetentionLock(f),
          pruneExpired: (i) => store.pruneExpired(i),
          releaseFreePages: () => store.releaseFreePages(),
          pruneIdempotencyKeys: (c) => store.pruneIdempotencyKeys(c),
          pruneExpiredResults: async (i) => {
            const b = await store.pruneExpiredResults(i);
            batches.push(b.results);
            return b;
          },
        },
        retentionMs: null,
        resultsRetentionMs: 90 * DAY,
        logger: pino({ level: 'silent' }),
        now: () => clock,
      });
      // Nothing is old enough yet.
      expect((await sweeper.sweepOnce())?.results).toBe(0);
      clock += 91 * DAY;
      const totals = await sweeper.sweepOnce();
      expect(totals?.results).toBe(2400);
      expect(Math.max(...batches)).toBeLessThanOrEqual(1000);

      const run = await ctx.api('GET', `/api/v1/runs/${second.body.id}`);
      expect([run.body.passed_count, run.body.failed_count]).toEqual([1199, 1]);
      expect(run.body.failures.map((f: { name: string }) => f.name)).toEqual(['t0']);
      expect(run.body.changes.counts.new_failures).toBe(1);
      const list = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${first.body.id}`);
      expect(list.body.total).toBe(0);
      const tests = await ctx.api('GET', `/api/v1/agents/${agentId}/tests?state=failing`);
      expect(tests.body.tests[0]).toMatchObject({ name: 't0', recent: ['failed', 'passed'] });
    });
  });
}
