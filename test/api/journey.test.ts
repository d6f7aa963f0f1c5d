import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

for (const backend of backends) {
  describe(`journey [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('agent → org and agent webhooks → run → complete leaves one event and one pending delivery', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', {
        name: 'Healthcare Assistant',
        provider: 'openai',
      });
      expect(agent.status).toBe(201);
      const other = await ctx.api('POST', '/api/v1/agents', { name: 'Other agent' });

      const orgHook = await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://example.com/org',
        secret: 'supersecret-1',
      });
      expect(orgHook.status).toBe(201);
      expect(orgHook.body).toMatchObject({
        agent_id: null,
        is_enabled: true,
        format: 'standard',
        has_secret: true,
        headers: {},
      });
      expect(JSON.stringify(orgHook.body)).not.toContain('supersecret-1');
      const agentHook = await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://example.com/agent',
        agent_id: agent.body.id,
        format: 'clix',
        headers: { 'X-Team': 'qa' },
      });
      expect(agentHook.status).toBe(201);

      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agent.body.id,
        name: 'Emergency Response Test',
        started_at: '2026-01-30T10:30:00Z',
      });
      expect(run.status).toBe(201);
      expect(run.body).toMatchObject({
        test_run_id: 'TR-00001',
        status: 'running',
        agent_name: 'Healthcare Assistant',
      });

      const done = await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
        status: 'completed',
        passed_count: 17,
        failed_count: 3,
        error_count: 0,
        completed_at: '2026-01-30T10:32:45Z',
      });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({
        status: 'completed',
        pass_rate: 85,
        total_scenarios: 20,
        duration_seconds: 165,
        completed_at: '2026-01-30T10:32:45Z',
      });

      // Exactly one delivery, to the agent's own webhook (it overrides the org's).
      const deliveries = await ctx.api('GET', '/api/v1/deliveries');
      expect(deliveries.body.total).toBe(1);
      const d = deliveries.body.deliveries[0];
      expect(d).toMatchObject({ webhook_id: agentHook.body.id, status: 'pending', attempt_count: 0 });
      const detail = await ctx.api('GET', `/api/v1/deliveries/${d.id}`);
      expect(detail.body.attempts).toEqual([]);
      expect(detail.body.event.type).toBe('test_run_completed');
      expect(detail.body.event.test_run_id).toBe(run.body.id);
      expect(detail.body.payload).toEqual(detail.body.event.payload);
      const payload = detail.body.event.payload;
      expect(Object.keys(payload)).toEqual(['event', 'timestamp', 'test_run', 'changes', 'results_url']);
      expect(payload.test_run).toEqual({
        id: run.body.id,
        test_run_id: 'TR-00001',
        name: 'Emergency Response Test',
        agent_id: agent.body.id,
        agent_name: 'Healthcare Assistant',
        status: 'completed',
        pass_rate: 85,
        passed_count: 17,
        failed_count: 3,
        error_count: 0,
        total_scenarios: 20,
        started_at: '2026-01-30T10:30:00Z',
        completed_at: '2026-01-30T10:32:45Z',
        duration_seconds: 165,
      });
      expect(payload.results_url).toBe(`http://runhook.test/runs/${run.body.id}`);

      // The other agent has no webhook of its own: its run falls back to the org's.
      const r2 = await ctx.api('POST', '/api/v1/runs', {
        agent_id: other.body.id,
        status: 'failed',
        passed_count: 1,
        failed_count: 1,
      });
      expect(r2.status).toBe(201);
      expect(r2.body).toMatchObject({ test_run_id: 'TR-00002', status: 'failed', pass_rate: 50 });
      const forOrg = await ctx.api('GET', `/api/v1/webhooks/${orgHook.body.id}/deliveries`);
      expect(forOrg.body.total).toBe(1);
      expect(forOrg.body.deliveries[0].status).toBe('pending');
    });

    it('a disabled agent webhook falls back to the org webhook; no enabled webhook means an event without delivery', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      const org = await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/org' });
      await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://example.com/a',
        agent_id: agent.body.id,
        is_enabled: false,
      });
      await ctx.api('POST', '/api/v1/runs', {
        agent_id: agent.body.id,
        status: 'completed',
        passed_count: 1,
      });
      const list = await ctx.api('GET', '/api/v1/deliveries');
      expect(list.body.deliveries.map((d: { webhook_id: string }) => d.webhook_id)).toEqual([org.body.id]);

      await ctx.api('PATCH', `/api/v1/webhooks/${org.body.id}`, { is_enabled: false });
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'canceled' });
      expect(run.status).toBe(201);
      expect((await ctx.api('GET', '/api/v1/deliveries')).body.total).toBe(1);
    });

    it('runs are found by TR- id, listed newest first and filtered', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      for (let i = 0; i < 3; i++)
        await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, name: `r${i}` });
      await ctx.api('POST', '/api/v1/runs/TR-00002/cancel');
      const byHuman = await ctx.api('GET', '/api/v1/runs/TR-00002');
      expect(byHuman.body).toMatchObject({ name: 'r1', status: 'canceled' });
      const list = await ctx.api('GET', '/api/v1/runs?limit=2');
      expect(list.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(list.body.runs.map((r: { test_run_id: string }) => r.test_run_id)).toEqual([
        'TR-00003',
        'TR-00002',
      ]);
      const canceled = await ctx.api('GET', '/api/v1/runs?status=canceled');
      expect(canceled.body.total).toBe(1);
    });
  });
}
