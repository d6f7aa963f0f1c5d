/**
 * A lone UTF-16 surrogate in text that is not a name (a reporter that cut a message in the middle
 * of an emoji) becomes U+FFFD, on both backends alike, wherever the text is stored
 * (docs/api.md#conventions): PostgreSQL's jsonb refused it with a 500 and SQLite kept three U+FFFD
 * for one. A surrogate pair written as escapes is one character and stays as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const LONE = 'cut \ud83d';
const MENDED = 'cut \ufffd';

for (const backend of backends) {
  describe(`lone surrogates in text [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
    });
    afterAll(async () => {
      await ctx.close();
    });

    const result = (over: Record<string, unknown> = {}) => ({
      name: 'renders',
      suite: 'ui',
      status: 'failed',
      message: LONE,
      criteria: [{ criterion: `c ${LONE}`, decision: 'NOT_MET', rationale: LONE }],
      ...over,
    });

    it('a finished run: results, criteria, failures and changes read back with U+FFFD, the same test each run', async () => {
      const body = {
        agent_id: agentId,
        name: 'Nightly',
        status: 'failed',
        results: [
          result({ name: `name ${LONE}`, suite: `suite ${LONE}` }),
          result({ name: 'other', status: 'passed' }),
        ],
      };
      const first = await ctx.api('POST', '/api/v1/runs', body);
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(first.body.failures).toEqual([
        { name: `name ${MENDED}`, classname: `suite ${MENDED}`, file: null, message: MENDED, kind: 'failed' },
      ]);
      const second = await ctx.api('POST', '/api/v1/runs', body);
      expect(second.status, JSON.stringify(second.body)).toBe(201);
      // The mended name is the same test as before: still failing, nothing new.
      expect(second.body.changes.counts).toMatchObject({ still_failing: 1, new_failures: 0, new_tests: 0 });

      const list = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${second.body.id}&status=failed`);
      expect(list.status).toBe(200);
      const [item] = list.body.scenario_runs;
      expect(item.scenario_name).toBe(`name ${MENDED}`);
      expect(item.suite).toBe(`suite ${MENDED}`);
      expect(item.error_message).toBe(MENDED);
      expect(item.criteria_results[0]).toMatchObject({ criterion: `c ${MENDED}`, rationale: MENDED });
    });

    it('results sent in chunks and failures given on /complete are mended too', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: 'Chunked' })).body;
      const chunk = await ctx.api('POST', `/api/v1/runs/${run.id}/results`, { results: [result()] });
      expect(chunk.status, JSON.stringify(chunk.body)).toBe(200);
      const done = await ctx.api('POST', `/api/v1/runs/${run.id}/complete`, { status: 'failed' });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      const stored = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.id}`);
      expect(stored.body.scenario_runs[0].error_message).toBe(MENDED);

      const other = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: 'Failures' })).body;
      const completed = await ctx.api('POST', `/api/v1/runs/${other.id}/complete`, {
        status: 'failed',
        failures: [{ name: 'f', message: LONE, file: LONE }],
      });
      expect(completed.body.failures[0]).toMatchObject({ message: MENDED, file: MENDED });
    });

    it('descriptions and a test suite’s scenario ids read back with one U+FFFD', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'Described', description: LONE });
      expect(agent.body.description).toBe(MENDED);
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://hooks.example.com/x',
        agent_id: agent.body.id,
        description: LONE,
      });
      expect(hook.status, JSON.stringify(hook.body)).toBe(201);
      expect((await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`)).body.description).toBe(MENDED);
      const suite = await ctx.api('POST', '/api/v1/test-suites', {
        name: 'Suite',
        description: LONE,
        scenario_ids: [LONE],
      });
      expect(suite.status, JSON.stringify(suite.body)).toBe(201);
      const got = await ctx.api('GET', `/api/v1/test-suites/${suite.body.id}`);
      expect(got.body).toMatchObject({ description: MENDED, scenario_ids: [MENDED] });
    });

    it('a surrogate pair written as escapes stays one character; a name with a lone one is still refused', async () => {
      const raw = `{"agent_id":"${agentId}","name":"Pair","status":"failed","results":[{"name":"smile \\ud83d\\ude00","status":"failed","message":"\\ud83d\\ude00"}]}`;
      const run = await ctx.api('POST', '/api/v1/runs', raw);
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      expect(run.body.failures[0]).toMatchObject({ name: 'smile 😀', message: '😀' });

      const refused = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: LONE });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'name' } });
    });

    it('the same keyed request with a lone surrogate is replayed, not refused as another request', async () => {
      const send = () =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/v1/agents',
          headers: {
            authorization: `Bearer ${ctx.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': 'lone-surrogate',
          },
          payload: JSON.stringify({ name: 'Keyed', description: LONE }),
        });
      const first = await send();
      expect(first.statusCode, first.body).toBe(201);
      const again = await send();
      expect(again.statusCode, again.body).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toBe(first.body);
    });
  });
}
