/**
 * What a run says about what failed (docs/api.md, "Failures") and Preclinical's run fields, through
 * the real app on both backends: accepted, stored, returned, refused in the API's error shape.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const failure = (i: number, extra: Record<string, unknown> = {}) => ({
  name: `test ${i}`,
  classname: 'suite.Cls',
  file: 'tests/test_a.py',
  message: `assert ${i} == 0`,
  kind: 'failed',
  ...extra,
});

for (const backend of backends) {
  describe(`run failures and Preclinical fields [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('stores failures given on /complete, in order, every key present, and GET returns them', async () => {
      const created = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });
      expect(created.status).toBe(201);
      expect(created.body.failures).toEqual([]);
      const done = await ctx.api('POST', `/api/v1/runs/${created.body.id}/complete`, {
        status: 'failed',
        passed_count: 1,
        failed_count: 1,
        error_count: 1,
        failures: [failure(1), { name: 'only a name', kind: 'error' }],
      });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      const expected = [
        failure(1),
        { name: 'only a name', classname: null, file: null, message: null, kind: 'error' },
      ];
      expect(done.body.failures).toEqual(expected);
      const got = await ctx.api('GET', `/api/v1/runs/${created.body.id}`);
      expect(got.body.failures).toEqual(expected);
      const byHumanId = await ctx.api('GET', `/api/v1/runs/${created.body.test_run_id}`);
      expect(byHumanId.body.failures).toEqual(expected);
      const list = await ctx.api('GET', '/api/v1/runs');
      expect(list.body.runs[0].failures).toEqual(expected);
    });

    it('takes failures on a one-call finished run, defaults kind to failed, keeps them when /complete omits them', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        failed_count: 50,
        failures: Array.from({ length: 50 }, (_, i) => ({ name: `t${i}` })),
      });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      expect(run.body.failures).toHaveLength(50);
      expect(run.body.failures[49]).toEqual({
        name: 't49',
        classname: null,
        file: null,
        message: null,
        kind: 'failed',
      });

      const running = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, failures: [failure(7)] });
      expect(running.body.failures).toEqual([failure(7)]);
      const done = await ctx.api('POST', `/api/v1/runs/${running.body.id}/complete`, { status: 'completed' });
      expect(done.body.failures).toEqual([failure(7)]);
    });

    it('cuts a long message to 1,000 characters ending in …, and a long file or classname to 500', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        failures: [
          { name: 'n', message: `é${'m'.repeat(5000)}`, file: 'f'.repeat(900), classname: 'c'.repeat(501) },
        ],
      });
      expect(run.status).toBe(201);
      const [f] = run.body.failures;
      expect(Array.from(f.message as string)).toHaveLength(1000);
      expect(f.message.startsWith('émmm')).toBe(true);
      expect(f.message.endsWith('m…')).toBe(true);
      expect(f.file).toHaveLength(500);
      expect(f.classname).toHaveLength(500);
      const exact = 'x'.repeat(1000);
      const kept = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        failures: [{ name: 'n', message: exact }],
      });
      expect(kept.body.failures[0].message).toBe(exact);
    });

    it.each([
      ['51 failures', { failures: Array.from({ length: 51 }, (_, i) => ({ name: `t${i}` })) }, 'failures'],
      ['a name of 501 characters', { failures: [{ name: 'x'.repeat(501) }] }, 'failures.0.name'],
      ['no name', { failures: [{ message: 'boom' }] }, 'failures.0.name'],
      ['an empty name', { failures: [{ name: '' }] }, 'failures.0.name'],
      ['another kind', { failures: [{ name: 'a', kind: 'skipped' }] }, 'failures.0.kind'],
      ['an unknown key', { failures: [{ name: 'a', stack: '...' }] }, 'failures.0.stack'],
      ['failures not a list', { failures: { name: 'a' } }, 'failures'],
    ])('refuses %s with a 400 naming the field, and creates nothing', async (_label, extra, field) => {
      const res = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, status: 'failed', ...extra });
      expect(res.status).toBe(400);
      expect(res.body.code).toMatch(/^(INVALID_FIELD_VALUE|MISSING_REQUIRED_FIELD)$/);
      expect(res.body.details.field).toBe(field);
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(0);
    });

    it('refuses bad failures on /complete and leaves the run running', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });
      const res = await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
        status: 'failed',
        failures: [{ name: 'y'.repeat(501) }],
      });
      expect(res.status).toBe(400);
      expect((await ctx.api('GET', `/api/v1/runs/${run.body.id}`)).body.status).toBe('running');
    });

    it('stores and returns test_suite_id, test_mode, max_scenarios, max_turns; the 201 adds poll_url', async () => {
      const res = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        test_suite_id: 'suite-42',
        test_mode: 'demo',
        max_scenarios: 10,
        max_turns: 5,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        test_suite_id: 'suite-42',
        test_mode: 'demo',
        max_scenarios: 10,
        max_turns: 5,
        poll_url: `/api/v1/runs/${res.body.id}`,
      });
      const polled = await ctx.api('GET', res.body.poll_url);
      expect(polled.status).toBe(200);
      expect(polled.body).toMatchObject({
        test_suite_id: 'suite-42',
        test_mode: 'demo',
        max_scenarios: 10,
        max_turns: 5,
      });
      expect(polled.body).not.toHaveProperty('poll_url');

      const plain = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, test_mode: 'full' });
      expect(plain.body).toMatchObject({
        test_suite_id: null,
        test_mode: 'full',
        max_scenarios: null,
        max_turns: null,
      });
    });

    it.each([
      ['test_mode', 'quick'],
      ['test_mode', 1],
      ['max_scenarios', 0],
      ['max_scenarios', 1.5],
      ['max_turns', -1],
      ['max_turns', '5'],
      ['test_suite_id', 7],
    ])('refuses %s = %j with 400 INVALID_FIELD_VALUE', async (field, value) => {
      const res = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, [field]: value });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field } });
    });

    it('accepts and returns null descriptions: a GET-then-PUT round trip of an agent and a webhook works', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'Null desc', description: null });
      expect(agent.status).toBe(201);
      expect(agent.body.description).toBeNull();
      const got = await ctx.api('GET', `/api/v1/agents/${agent.body.id}`);
      const { id, created_at, updated_at, ...editable } = got.body;
      const put = await ctx.api('PUT', `/api/v1/agents/${id}`, editable);
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body.description).toBeNull();
      const described = await ctx.api('PUT', `/api/v1/agents/${id}`, { description: 'Triage bot' });
      expect(described.body.description).toBe('Triage bot');
      const cleared = await ctx.api('PUT', `/api/v1/agents/${id}`, { description: null });
      expect(cleared.body.description).toBeNull();

      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://example.com/h',
        description: null,
      });
      expect(hook.status).toBe(201);
      expect(hook.body.description).toBeNull();
      const gotHook = (await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`)).body;
      const putHook = await ctx.api('PUT', `/api/v1/webhooks/${hook.body.id}`, {
        url: gotHook.url,
        description: gotHook.description,
        is_enabled: gotHook.is_enabled,
        format: gotHook.format,
        headers: gotHook.headers,
        filter: gotHook.filter,
        agent_id: gotHook.agent_id,
      });
      expect(putHook.status, JSON.stringify(putHook.body)).toBe(200);
      expect(putHook.body.description).toBeNull();
      const noDescription = await ctx.api('POST', '/api/v1/agents', { name: 'No desc' });
      expect(noDescription.body.description).toBeNull();
    });
  });
}
