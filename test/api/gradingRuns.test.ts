/**
 * Run status `grading` and cancel as Preclinical's API pages show them (docs/api.md#run-status):
 * grading is accepted wherever a status that is not final is, a grading run can be completed or
 * canceled, the cancel answer carries a message, and a finished run's 409 names its status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

for (const backend of backends) {
  describe(`grading runs and cancel [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Grader' })).body.id;
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('POST /runs takes status grading; GET /runs?status=grading finds it; it can be completed', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, status: 'grading' });
      expect(run.status).toBe(201);
      expect(run.body).toMatchObject({ status: 'grading', completed_at: null });
      const running = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });

      const grading = await ctx.api('GET', '/api/v1/runs?status=grading');
      expect(grading.status).toBe(200);
      expect(grading.body.runs.map((r: { id: string }) => r.id)).toEqual([run.body.id]);
      expect(grading.body.total).toBe(1);

      // Counts belong with a final status only, grading included.
      const counted = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'grading',
        passed_count: 1,
      });
      expect(counted.status).toBe(400);
      expect(counted.body.details.field).toBe('passed_count');

      const done = await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
        status: 'completed',
        passed_count: 4,
        failed_count: 1,
      });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ status: 'completed', pass_rate: 80 });

      // A second complete: 409 naming the status.
      const again = await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, { status: 'failed' });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'INVALID_STATE', details: { current_status: 'completed' } });

      await ctx.api('POST', `/api/v1/runs/${running.body.id}/cancel`);
    });

    it('PATCH /runs/{id} moves a pending or running run to grading, once; not a final one', async () => {
      const pending = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, status: 'pending' });
      const moved = await ctx.api('PATCH', `/api/v1/runs/${pending.body.test_run_id}`, { status: 'grading' });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ id: pending.body.id, status: 'grading' });
      const twice = await ctx.api('PATCH', `/api/v1/runs/${pending.body.id}`, { status: 'grading' });
      expect(twice.status).toBe(200);
      expect(twice.body.status).toBe('grading');

      for (const body of [
        { status: 'running' },
        { status: 'completed' },
        {},
        { status: 'grading', name: 'x' },
      ]) {
        const res = await ctx.api('PATCH', `/api/v1/runs/${pending.body.id}`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      expect((await ctx.api('GET', `/api/v1/runs/${pending.body.id}`)).body.status).toBe('grading');

      const finished = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        failed_count: 1,
      });
      const late = await ctx.api('PATCH', `/api/v1/runs/${finished.body.id}`, { status: 'grading' });
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({ code: 'INVALID_STATE', details: { current_status: 'failed' } });
      expect((await ctx.api('GET', `/api/v1/runs/${finished.body.id}`)).body.status).toBe('failed');

      const unknown = await ctx.api('PATCH', '/api/v1/runs/00000000-0000-4000-8000-000000000000', {
        status: 'grading',
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('RUN_NOT_FOUND');
      const other = await ctx.newOrg('grading-other');
      const foreign = await ctx.api(
        'PATCH',
        `/api/v1/runs/${pending.body.id}`,
        { status: 'grading' },
        other.apiKey,
      );
      expect(foreign.status).toBe(404);

      await ctx.api('POST', `/api/v1/runs/${pending.body.id}/cancel`);
    });

    it('cancel answers the run plus the message; a grading run cancels; a second cancel is a 409 with current_status', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, status: 'grading' });
      const canceled = await ctx.api('POST', `/api/v1/runs/${run.body.id}/cancel`);
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({
        id: run.body.id,
        test_run_id: run.body.test_run_id,
        status: 'canceled',
        message: 'Test run cancellation initiated',
      });
      expect(canceled.body.completed_at).not.toBeNull();

      const again = await ctx.api('POST', `/api/v1/runs/${run.body.id}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('INVALID_STATE');
      expect(again.body.details.current_status).toBe('canceled');
      expect(again.body.error).toContain('only pending, running or grading runs can be');

      const completed = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        passed_count: 2,
      });
      const cancelCompleted = await ctx.api('POST', `/api/v1/runs/${completed.body.id}/cancel`);
      expect(cancelCompleted.status).toBe(409);
      expect(cancelCompleted.body.details.current_status).toBe('completed');
      expect((await ctx.api('GET', `/api/v1/runs/${completed.body.id}`)).body.status).toBe('completed');

      // The GET answer has no message: it belongs to the cancel answer only.
      expect((await ctx.api('GET', `/api/v1/runs/${run.body.id}`)).body).not.toHaveProperty('message');
    });
  });
}
