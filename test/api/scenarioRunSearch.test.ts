/**
 * GET /scenario-runs?q= (docs/api.md#scenario-results): a run's results whose test name or suite
 * holds the text, any case, on both backends; LIKE's own characters are taken literally.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

for (const backend of backends) {
  describe(`scenario run search [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('finds results by part of the name or suite, any case, failed first, with paging', async () => {
      const agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'Nightly',
        status: 'failed',
        results: [
          { name: 'Chest pain triage', suite: 'urgent', status: 'passed' },
          { name: 'chest X-ray', suite: 'imaging', status: 'failed', message: 'no' },
          { name: 'Headache', suite: 'Chest clinic', status: 'passed' },
          { name: 'Rash', suite: 'skin', status: 'failed' },
          { name: '100%_sure', suite: 'odd', status: 'passed' },
        ],
      });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      const names = (body: { scenario_runs: Array<{ scenario_name: string }> }) =>
        body.scenario_runs.map((s) => s.scenario_name);

      const chest = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.body.id}&q=CHEST`);
      expect(chest.status).toBe(200);
      expect(chest.body.total).toBe(3);
      expect(names(chest.body)[0]).toBe('chest X-ray');
      expect(names(chest.body).slice(1).sort()).toEqual(['Chest pain triage', 'Headache']);

      const failedChest = await ctx.api(
        'GET',
        `/api/v1/scenario-runs?test_run_id=${run.body.test_run_id}&q=chest&passed=false`,
      );
      expect(names(failedChest.body)).toEqual(['chest X-ray']);

      const paged = await ctx.api(
        'GET',
        `/api/v1/scenario-runs?test_run_id=${run.body.id}&q=chest&limit=1&offset=1`,
      );
      expect(paged.body).toMatchObject({ total: 3, limit: 1, offset: 1 });
      expect(paged.body.scenario_runs).toHaveLength(1);

      const percent = await ctx.api(
        'GET',
        `/api/v1/scenario-runs?test_run_id=${run.body.id}&q=${encodeURIComponent('%_')}`,
      );
      expect(names(percent.body)).toEqual(['100%_sure']);
      const none = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.body.id}&q=nothing`);
      expect(none.body).toMatchObject({ total: 0, scenario_runs: [] });

      const tooLong = await ctx.api(
        'GET',
        `/api/v1/scenario-runs?test_run_id=${run.body.id}&q=${'x'.repeat(501)}`,
      );
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.code).toBe('INVALID_FIELD_VALUE');
    });
  });
}
