/**
 * Test suites (docs/api.md#test-suites): create, list, read, update, delete, scoped to the
 * organization; and runs that name a suite by `test_suite_id` show its name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

for (const backend of backends) {
  describe(`test suites [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('create answers 201 with the summary; GET adds scenario_ids and updated_at; the list pages', async () => {
      const created = await ctx.api('POST', '/api/v1/test-suites', {
        name: 'Critical Care Scenarios',
        description: 'High-priority emergency scenarios',
        scenario_ids: ['scenario-uuid-1', 'scenario-uuid-2', 'scenario-uuid-3'],
      });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body).sort()).toEqual([
        'created_at',
        'description',
        'id',
        'name',
        'scenario_count',
      ]);
      expect(created.body).toMatchObject({
        name: 'Critical Care Scenarios',
        description: 'High-priority emergency scenarios',
        scenario_count: 3,
      });
      expect(created.body.created_at).toMatch(ISO);

      const read = await ctx.api('GET', `/api/v1/test-suites/${created.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({
        ...created.body,
        scenario_ids: ['scenario-uuid-1', 'scenario-uuid-2', 'scenario-uuid-3'],
        updated_at: created.body.created_at,
      });

      const second = await ctx.api('POST', '/api/v1/test-suites', {
        name: 'Smoke',
        scenario_ids: ['s1'],
      });
      expect(second.body.description).toBeNull();
      const list = await ctx.api('GET', '/api/v1/test-suites?limit=1');
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject({ total: 2, limit: 1, offset: 0 });
      expect(list.body.test_suites).toHaveLength(1);
      expect(list.body.test_suites[0]).not.toHaveProperty('scenario_ids');
      const all = await ctx.api('GET', '/api/v1/test-suites');
      expect(all.body.test_suites.map((s: { name: string }) => s.name).sort()).toEqual([
        'Critical Care Scenarios',
        'Smoke',
      ]);
    });

    it('PUT changes what is given (at least one field); DELETE answers 204; names are unique', async () => {
      const suite = (
        await ctx.api('POST', '/api/v1/test-suites', { name: 'Emergency Triage', scenario_ids: ['a', 'b'] })
      ).body;
      const renamed = await ctx.api('PUT', `/api/v1/test-suites/${suite.id}`, {
        name: 'Emergency Triage v2',
        description: 'Updated emergency scenarios',
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({
        name: 'Emergency Triage v2',
        description: 'Updated emergency scenarios',
        scenario_ids: ['a', 'b'],
        scenario_count: 2,
      });
      const rescoped = await ctx.api('PUT', `/api/v1/test-suites/${suite.id}`, {
        scenario_ids: ['new-scenario-1'],
      });
      expect(rescoped.body).toMatchObject({ name: 'Emergency Triage v2', scenario_count: 1 });
      const cleared = await ctx.api('PATCH', `/api/v1/test-suites/${suite.id}`, { description: null });
      expect(cleared.body.description).toBeNull();

      const empty = await ctx.api('PUT', `/api/v1/test-suites/${suite.id}`, {});
      expect(empty.status).toBe(400);
      expect(empty.body.code).toBe('MISSING_REQUIRED_FIELD');

      const taken = await ctx.api('POST', '/api/v1/test-suites', { name: 'Smoke', scenario_ids: ['x'] });
      expect(taken.status).toBe(409);
      expect(taken.body).toMatchObject({ code: 'ALREADY_EXISTS', details: { field: 'name' } });
      const renameTaken = await ctx.api('PUT', `/api/v1/test-suites/${suite.id}`, { name: 'Smoke' });
      expect(renameTaken.status).toBe(409);
      expect((await ctx.api('GET', `/api/v1/test-suites/${suite.id}`)).body.name).toBe('Emergency Triage v2');

      expect((await ctx.api('DELETE', `/api/v1/test-suites/${suite.id}`)).status).toBe(204);
      expect((await ctx.api('GET', `/api/v1/test-suites/${suite.id}`)).body.code).toBe('NOT_FOUND');
      expect((await ctx.api('DELETE', `/api/v1/test-suites/${suite.id}`)).status).toBe(404);
    });

    it('refuses bad bodies with the error shapes and stores nothing', async () => {
      const before = (await ctx.api('GET', '/api/v1/test-suites')).body.total;
      const cases: Array<[unknown, string, string]> = [
        [{ scenario_ids: ['a'] }, 'MISSING_REQUIRED_FIELD', 'name'],
        [{ name: 'no ids' }, 'MISSING_REQUIRED_FIELD', 'scenario_ids'],
        [{ name: 'empty ids', scenario_ids: [] }, 'INVALID_FIELD_VALUE', 'scenario_ids'],
        [{ name: 'not strings', scenario_ids: [1, 2] }, 'INVALID_FIELD_VALUE', 'scenario_ids.0'],
        [{ name: 'not array', scenario_ids: 'a,b' }, 'INVALID_FIELD_VALUE', 'scenario_ids'],
        [{ name: 'dupes', scenario_ids: ['a', 'a'] }, 'INVALID_FIELD_VALUE', 'scenario_ids'],
        [{ name: 'x'.repeat(201), scenario_ids: ['a'] }, 'INVALID_FIELD_VALUE', 'name'],
        [
          { name: 'long desc', description: 'd'.repeat(2001), scenario_ids: ['a'] },
          'INVALID_FIELD_VALUE',
          'description',
        ],
        [{ name: 'extra', scenario_ids: ['a'], agent_id: 'x' }, 'INVALID_FIELD_VALUE', 'agent_id'],
      ];
      for (const [body, code, field] of cases) {
        const res = await ctx.api('POST', '/api/v1/test-suites', body);
        expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(res.body).toMatchObject({ code, details: { field } });
      }
      expect((await ctx.api('POST', '/api/v1/test-suites', '{"name":')).body.code).toBe('INVALID_JSON');
      expect((await ctx.api('GET', '/api/v1/test-suites')).body.total).toBe(before);
    });

    it("another organization's suite is a 404 for every route, and its list is its own", async () => {
      const mine = (await ctx.api('POST', '/api/v1/test-suites', { name: 'Mine', scenario_ids: ['m'] })).body;
      const other = await ctx.newOrg('suites-other');
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { name: 'stolen' }],
        ['DELETE', undefined],
      ] as const) {
        const res = await ctx.api(method, `/api/v1/test-suites/${mine.id}`, body, other.apiKey);
        expect(res.status, method).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
      }
      expect((await ctx.api('GET', '/api/v1/test-suites', undefined, other.apiKey)).body.total).toBe(0);
      // The same name is free in another organization.
      const theirs = await ctx.api(
        'POST',
        '/api/v1/test-suites',
        { name: 'Mine', scenario_ids: ['t'] },
        other.apiKey,
      );
      expect(theirs.status).toBe(201);
      expect((await ctx.api('GET', `/api/v1/test-suites/${mine.id}`)).body.name).toBe('Mine');
      expect((await ctx.api('GET', '/api/v1/test-suites/not-a-uuid')).status).toBe(404);
    });

    it('Idempotency-Key on POST /test-suites replays the first answer', async () => {
      const send = (body: unknown) =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/v1/test-suites',
          headers: {
            authorization: `Bearer ${ctx.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': 'suite-key-1',
          },
          payload: JSON.stringify(body),
        });
      const first = await send({ name: 'Once', scenario_ids: ['a'] });
      const again = await send({ name: 'Once', scenario_ids: ['a'] });
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().id).toBe(first.json().id);
      expect((await send({ name: 'Other', scenario_ids: ['a'] })).statusCode).toBe(409);
    });

    it('a replayed run answer (Idempotency-Key) shows the suite name the first answer showed', async () => {
      const agent = (await ctx.api('POST', '/api/v1/agents', { name: 'replayed suite runner' })).body;
      const suite = (await ctx.api('POST', '/api/v1/test-suites', { name: 'Replayed', scenario_ids: ['a'] }))
        .body;
      const send = (url: string, key: string, body: unknown) =>
        ctx.app.inject({
          method: 'POST',
          url,
          headers: {
            authorization: `Bearer ${ctx.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          payload: JSON.stringify(body),
        });
      const twice = async (url: string, key: string, body: unknown) => {
        const first = await send(url, key, body);
        const again = await send(url, key, body);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(first.json().test_suite_name).toBe('Replayed');
        expect(again.json()).toEqual(first.json());
        return first.json();
      };
      const body = { agent_id: agent.id, test_suite_id: suite.id };
      await twice('/api/v1/runs', 'suite-run-finished', { ...body, status: 'completed', passed_count: 1 });
      const open = await twice('/api/v1/runs', 'suite-run-open', body);
      await twice(`/api/v1/runs/${open.id}/complete`, 'suite-run-complete', { status: 'completed' });
      const other = (await ctx.api('POST', '/api/v1/runs', body)).body;
      const canceled = await twice(`/api/v1/runs/${other.id}/cancel`, 'suite-run-cancel', {});
      expect(canceled.message).toBe('Test run cancellation initiated');
    });

    it('a run whose test_suite_id is one of the suites shows its name; any other string shows null', async () => {
      const agent = (await ctx.api('POST', '/api/v1/agents', { name: 'suite runner' })).body;
      const suite = (
        await ctx.api('POST', '/api/v1/test-suites', { name: 'Nightly triage', scenario_ids: ['a'] })
      ).body;
      const named = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.id, test_suite_id: suite.id });
      expect(named.status).toBe(201);
      expect(named.body).toMatchObject({ test_suite_id: suite.id, test_suite_name: 'Nightly triage' });
      const opaque = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agent.id,
        test_suite_id: 'triage-suite',
        status: 'completed',
        passed_count: 1,
      });
      expect(opaque.body).toMatchObject({ test_suite_id: 'triage-suite', test_suite_name: null });
      const none = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.id });
      expect(none.body.test_suite_name).toBeNull();

      expect((await ctx.api('GET', `/api/v1/runs/${named.body.test_run_id}`)).body.test_suite_name).toBe(
        'Nightly triage',
      );
      const list = await ctx.api('GET', `/api/v1/runs?agent_id=${agent.id}`);
      const byId = new Map(
        list.body.runs.map((r: { id: string; test_suite_name: string | null }) => [r.id, r]),
      );
      expect(byId.get(named.body.id)).toMatchObject({ test_suite_name: 'Nightly triage' });
      expect(byId.get(opaque.body.id)).toMatchObject({ test_suite_name: null });

      // Renamed: the run shows the new name. Completed: still shown.
      await ctx.api('PUT', `/api/v1/test-suites/${suite.id}`, { name: 'Nightly triage v2' });
      const done = await ctx.api('POST', `/api/v1/runs/${named.body.id}/complete`, {
        status: 'completed',
        passed_count: 1,
      });
      expect(done.body.test_suite_name).toBe('Nightly triage v2');

      // Another organization's suite id names nothing here.
      const other = await ctx.newOrg('suite-runs-other');
      const theirs = (
        await ctx.api('POST', '/api/v1/test-suites', { name: 'Theirs', scenario_ids: ['z'] }, other.apiKey)
      ).body;
      const foreign = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.id, test_suite_id: theirs.id });
      expect(foreign.body.test_suite_name).toBeNull();

      // Its results page shows the run as GET /runs/{id} does.
      const results = await ctx.api('GET', `/api/v1/runs/${named.body.id}/results`);
      expect(results.body.test_run.test_suite_name).toBe('Nightly triage v2');

      // Deleted: the run keeps its test_suite_id and shows no name.
      await ctx.api('DELETE', `/api/v1/test-suites/${suite.id}`);
      expect((await ctx.api('GET', `/api/v1/runs/${named.body.id}`)).body).toMatchObject({
        test_suite_id: suite.id,
        test_suite_name: null,
      });
    });
  });
}
