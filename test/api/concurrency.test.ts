import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { failInserts, openRawSql } from '../helpers/rawSql.js';

for (const backend of backends) {
  describe(`concurrency [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('concurrent complete and cancel calls on one run produce one event; the losers get 409 INVALID_STATE', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/h' });
      for (let round = 0; round < 5; round++) {
        const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id });
        const calls = Array.from({ length: 8 }, (_, i) =>
          i % 2 === 0
            ? ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
                status: 'completed',
                passed_count: i,
              })
            : ctx.api('POST', `/api/v1/runs/${run.body.id}/cancel`),
        );
        const answers = await Promise.all(calls);
        expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
        expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'INVALID_STATE')).toBe(
          true,
        );
        expect(answers.filter((a) => a.status === 409)).toHaveLength(7);
        const deliveries = await ctx.api('GET', `/api/v1/deliveries?test_run_id=${run.body.id}`);
        expect(deliveries.body.total).toBe(1);
      }
    });

    it('concurrent run creation numbers TR- ids without gaps or duplicates', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          ctx.api(
            'POST',
            '/api/v1/runs',
            i % 2 ? { agent_id: agent.body.id } : { agent_id: agent.body.id, status: 'completed' },
          ),
        ),
      );
      expect(answers.every((a) => a.status === 201)).toBe(true);
      const numbers = answers.map((a) => Number(a.body.test_run_id.slice(3))).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('a request refused before its transaction leaves nothing behind and does not burn a TR- number', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      const bad = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agent.body.id,
        status: 'completed',
        passed_count: 3,
        total_scenarios: 1,
      });
      expect(bad.status).toBe(400);
      const missingAgent = await ctx.api('POST', '/api/v1/runs', {
        agent_id: '00000000-0000-4000-8000-000000000001',
      });
      expect(missingAgent.status).toBe(404);
      const good = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id });
      expect(good.body.test_run_id).toBe('TR-00001');
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
    });

    it('a failure inside the transaction rolls back the run, its TR- number, its event and its delivery', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      expect((await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/h' })).status).toBe(201);
      const running = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id });
      expect(running.body.test_run_id).toBe('TR-00001');
      const raw = await openRawSql(ctx.db.url);
      try {
        // The delivery is the last row the transaction writes: by the time its insert fails, the
        // run (with its number) and the event are already written and must be rolled back.
        const fault = failInserts(backend.name, 'deliveries');
        await raw.exec(fault.install);
        const created = await ctx.api('POST', '/api/v1/runs', {
          agent_id: agent.body.id,
          status: 'completed',
        });
        expect(created.status).toBe(500);
        expect(created.body.code).toBe('INTERNAL_ERROR');
        const finished = await ctx.api('POST', `/api/v1/runs/${running.body.id}/complete`, {
          status: 'failed',
          failed_count: 1,
        });
        expect(finished.status).toBe(500);
        expect(await raw.count('SELECT count(*) FROM test_runs')).toBe(1);
        expect(await raw.count('SELECT count(*) FROM events')).toBe(0);
        expect(await raw.count('SELECT count(*) FROM deliveries')).toBe(0);
        const unchanged = await ctx.api('GET', `/api/v1/runs/${running.body.id}`);
        const { poll_url: _onlyIn201, ...asCreated } = running.body;
        expect(unchanged.body).toEqual(asCreated);
        await raw.exec(fault.remove);
      } finally {
        await raw.close();
      }
      // With the fault gone the same requests succeed, and the failed creation burned no number.
      const next = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'completed' });
      expect(next.status).toBe(201);
      expect(next.body.test_run_id).toBe('TR-00002');
      const done = await ctx.api('POST', `/api/v1/runs/${running.body.id}/complete`, {
        status: 'failed',
        failed_count: 1,
      });
      expect(done.status).toBe(200);
      expect((await ctx.api('GET', '/api/v1/deliveries')).body.total).toBe(2);
    });
  });
}
