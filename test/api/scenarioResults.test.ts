/**
 * Scenario results and what changed (docs/api.md#scenario-results), through the real app on both
 * backends: stored, counted, compared with the baseline, read back per run and per test, refused in
 * the API's error shape without changing anything.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

type R = { name: string; suite?: string; status: string; [k: string]: unknown };
const pass = (name: string, extra: Record<string, unknown> = {}): R => ({
  name,
  suite: 'triage',
  status: 'passed',
  ...extra,
});
const fail = (name: string, extra: Record<string, unknown> = {}): R => ({
  name,
  suite: 'triage',
  status: 'failed',
  message: `${name} broke`,
  ...extra,
});

for (const backend of backends) {
  describe(`scenario results [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
    });
    afterEach(async () => {
      await ctx.close();
    });

    const finished = async (results: R[], extra: Record<string, unknown> = {}) => {
      const status = results.some((r) => r.status === 'failed' || r.status === 'error')
        ? 'failed'
        : 'completed';
      const res = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'Nightly',
        status,
        results,
        ...extra,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };

    it('derives counts and failures from results; skipped ones are not in the total', async () => {
      const run = await finished([
        pass('a'),
        fail('b'),
        { name: 'c', status: 'error', message: 'boom' },
        { name: 'd', status: 'skipped' },
      ]);
      expect([run.passed_count, run.failed_count, run.error_count, run.total_scenarios]).toEqual([
        1, 1, 1, 3,
      ]);
      expect(run.pass_rate).toBe(33.33);
      expect(run.failures.map((f: { name: string; kind: string }) => [f.name, f.kind])).toEqual([
        ['b', 'failed'],
        ['c', 'error'],
      ]);
      expect(run.changes).toBeNull();
    });

    it('computes what changed against the previous run of the same name, stores it and sends it', async () => {
      const first = await finished([
        pass('stays'),
        fail('breaks-later', { status: 'passed', message: null }),
        fail('gets-fixed'),
        fail('still'),
      ]);
      expect(first.changes).toBeNull();
      const second = await finished([
        pass('stays'),
        fail('breaks-later'),
        pass('gets-fixed'),
        fail('still'),
        pass('brand-new'),
        pass('retried', { attempts: 2 }),
      ]);
      const c = second.changes;
      expect(c.baseline_test_run_id).toBe(first.test_run_id);
      expect(c.basis).toBe('results');
      expect(c.new_failures).toEqual([
        { name: 'breaks-later', suite: 'triage', message: 'breaks-later broke' },
      ]);
      expect(c.fixed).toEqual([{ name: 'gets-fixed', suite: 'triage' }]);
      expect(c.flaky).toEqual([{ name: 'retried', suite: 'triage', reason: 'passed_on_retry' }]);
      expect(c.counts).toEqual({
        new_failures: 1,
        fixed: 1,
        still_failing: 1,
        flaky: 1,
        new_tests: 2,
        missing_tests: 0,
      });
      // 2 of 4 passed before, 4 of 6 now.
      expect(c.pass_rate_delta).toBe(16.67);
      const got = await ctx.api('GET', `/api/v1/runs/${second.id}`);
      expect(got.body.changes).toEqual(c);
      const results = await ctx.api('GET', `/api/v1/runs/${second.id}/results`);
      expect(results.status).toBe(200);
      expect(results.body.summary).toEqual({ passed: 4, failed: 2, error: 0, skipped: 0, flaky: 1 });
      expect(results.body.total).toBe(6);
      expect(results.body.scenario_runs[0].status).toBe('failed');
      expect(results.body.changes).toEqual(c);
    });

    it('stores a run mixing known and new tests in the order sent, each with its change', async () => {
      const names = (body: { scenario_runs: { scenario_name: string; change: string }[] }) =>
        body.scenario_runs.map((s) => `${s.scenario_name}:${s.change}`);
      const first = await finished([pass('a'), pass('b'), pass('c')]);
      const firstList = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${first.id}`);
      expect(names(firstList.body)).toEqual(['a:new', 'b:new', 'c:new']);
      // New tests between known ones: the known ones are found first, then taken back.
      const second = await finished([pass('n1'), pass('a'), fail('n2'), pass('b'), fail('c')]);
      const list = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${second.id}`);
      // Failing first, then each status in the order sent.
      expect(names(list.body)).toEqual([
        'n2:new_failure',
        'c:new_failure',
        'n1:new',
        'a:unchanged',
        'b:unchanged',
      ]);
      expect(second.changes.counts).toMatchObject({ new_failures: 2, new_tests: 2, missing_tests: 0 });
      expect((await ctx.api('GET', `/api/v1/agents/${agentId}/tests`)).body.total).toBe(5);
    });

    it('lists scenario runs in Preclinical’s shape with filters, by UUID or TR- id', async () => {
      await finished([pass('x'), fail('y')]);
      const run = await finished([
        pass('x', { duration_ms: 1200, score: { points_awarded: 3, max_points: 4 } }),
        pass('y', {
          criteria: [
            { criterion: 'greets', decision: 'MET', points_awarded: 1, max_points: 1, rationale: 'said hi' },
          ],
        }),
        fail('z'),
      ]);
      const all = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.test_run_id}`);
      expect(all.status).toBe(200);
      expect(all.body.total).toBe(3);
      expect(all.body.limit).toBe(50);
      const [first] = all.body.scenario_runs;
      expect(first).toMatchObject({
        test_run_id: run.test_run_id,
        scenario_name: 'z',
        suite: 'triage',
        status: 'failed',
        passed: false,
        error_message: 'z broke',
        attempts: 1,
        change: 'new_failure',
      });
      const fixed = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.id}&change=fixed`);
      expect(fixed.body.scenario_runs.map((s: { scenario_name: string }) => s.scenario_name)).toEqual(['y']);
      expect(fixed.body.scenario_runs[0].criteria_results[0].decision).toBe('MET');
      const passed = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.id}&passed=true`);
      expect(passed.body.total).toBe(2);
      const one = await ctx.api('GET', `/api/v1/scenario-runs/${first.id}`);
      expect(one.body).toEqual(first);
      const x = passed.body.scenario_runs.find((s: { scenario_name: string }) => s.scenario_name === 'x');
      expect(x.score).toEqual({ points_awarded: 3, max_points: 4 });
      expect(x.duration_ms).toBe(1200);
      expect(run.score).toBe(75);

      const missing = await ctx.api('GET', '/api/v1/scenario-runs');
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe('MISSING_REQUIRED_FIELD');
      const other = await ctx.newOrg('other');
      const hidden = await ctx.api('GET', `/api/v1/scenario-runs/${first.id}`, undefined, other.apiKey);
      expect(hidden.status).toBe(404);
    });

    it('takes results in chunks while the run is open, then completes from them', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: 'Chunked' })).body;
      const a = await ctx.api('POST', `/api/v1/runs/${run.id}/results`, { results: [pass('a'), fail('b')] });
      expect(a.body).toEqual({ accepted: 2, total: 2 });
      const dup = await ctx.api('POST', `/api/v1/runs/${run.id}/results`, {
        results: [pass('c'), pass('a')],
      });
      expect(dup.status).toBe(400);
      expect(dup.body.code).toBe('INVALID_FIELD_VALUE');
      expect(dup.body.error).toContain('triage › a');
      expect(dup.body.details).toEqual({ field: 'results', name: 'a', suite: 'triage' });
      const b = await ctx.api('POST', `/api/v1/runs/${run.id}/results`, { results: [pass('c')] });
      expect(b.body).toEqual({ accepted: 1, total: 3 });
      // While open, the run's counts follow its results (the refused chunk added nothing).
      const polled = (await ctx.api('GET', `/api/v1/runs/${run.id}`)).body;
      expect(polled).toMatchObject({
        status: 'running',
        passed_count: 2,
        failed_count: 1,
        error_count: 0,
        total_scenarios: 3,
      });
      const wrong = await ctx.api('POST', `/api/v1/runs/${run.id}/complete`, {
        status: 'failed',
        passed_count: 5,
      });
      expect(wrong.status).toBe(400);
      expect(wrong.body.details.field).toBe('passed_count');
      expect((await ctx.api('GET', `/api/v1/runs/${run.id}`)).body.status).toBe('running');
      const done = await ctx.api('POST', `/api/v1/runs/${run.id}/complete`, { status: 'failed' });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect([done.body.passed_count, done.body.failed_count, done.body.total_scenarios]).toEqual([2, 1, 3]);
      const late = await ctx.api('POST', `/api/v1/runs/${run.id}/results`, { results: [pass('d')] });
      expect(late.status).toBe(409);
      expect(late.body.code).toBe('INVALID_STATE');
    });

    it('an open run with a planned total shows progress; the plan grows when more ran', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, total_scenarios: 4 })).body;
      await ctx.api('POST', `/api/v1/runs/${run.id}/results`, {
        results: [pass('a'), fail('b'), { name: 's', status: 'skipped' }],
      });
      const progress = (await ctx.api('GET', `/api/v1/runs/${run.id}`)).body;
      expect(progress).toMatchObject({ passed_count: 1, failed_count: 1, total_scenarios: 4, pass_rate: 25 });
      await ctx.api('POST', `/api/v1/runs/${run.id}/results`, {
        results: [pass('c'), pass('d'), { name: 'e', status: 'error' }],
      });
      const over = (await ctx.api('GET', `/api/v1/runs/${run.id}`)).body;
      expect(over).toMatchObject({ passed_count: 3, error_count: 1, total_scenarios: 5, pass_rate: 60 });
      const done = await ctx.api('POST', `/api/v1/runs/${run.id}/complete`, { status: 'failed' });
      expect(done.body).toMatchObject({
        passed_count: 3,
        failed_count: 1,
        error_count: 1,
        total_scenarios: 5,
      });
    });

    it('a chunk sent again with its Idempotency-Key is answered again, not refused as a duplicate', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId })).body;
      const send = () =>
        ctx.app.inject({
          method: 'POST',
          url: `/api/v1/runs/${run.id}/results`,
          headers: {
            authorization: `Bearer ${ctx.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': 'ci-step-7:results:1',
          },
          payload: JSON.stringify({ results: [pass('a'), fail('b')] }),
        });
      const first = await send();
      const again = await send();
      expect(first.statusCode).toBe(200);
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(JSON.parse(again.body)).toEqual({ accepted: 2, total: 2 });
      const list = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.id}`);
      expect(list.body.total).toBe(2);
    });

    it('refuses a test twice, disagreeing counts and too many results, storing nothing', async () => {
      const twice = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        results: [pass('a'), pass('a')],
      });
      expect(twice.status).toBe(400);
      expect(twice.body.code).toBe('INVALID_FIELD_VALUE');
      // Named in details as a test already stored by an earlier chunk is.
      expect(twice.body.details).toEqual({ field: 'results', name: 'a', suite: 'triage' });
      const disagree = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        passed_count: 3,
        results: [pass('a'), pass('b')],
      });
      expect(disagree.status).toBe(400);
      expect(disagree.body.details).toMatchObject({ field: 'passed_count', given: 3, from_results: 2 });
      const chunk = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });
      const tooMany = await ctx.api('POST', `/api/v1/runs/${chunk.body.id}/results`, {
        results: Array.from({ length: 1001 }, (_, i) => pass(`t${i}`)),
      });
      expect(tooMany.status).toBe(413);
      expect(tooMany.body.code).toBe('PAYLOAD_TOO_LARGE');
      expect(tooMany.body.error).toContain('1000');
      const runs = await ctx.api('GET', '/api/v1/runs');
      // Only the open run exists: the refused ones took no TR- number.
      expect(runs.body.total).toBe(1);
      expect((await ctx.api('GET', `/api/v1/agents/${agentId}/tests`)).body.total).toBe(0);
    });

    it('checks only the counts given beside results; the others come from the results', async () => {
      const results = [pass('a'), fail('b'), { name: 'c', status: 'error' }];
      const some = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        passed_count: 1,
        results,
      });
      expect(some.status, JSON.stringify(some.body)).toBe(201);
      expect([some.body.passed_count, some.body.failed_count, some.body.error_count]).toEqual([1, 1, 1]);
      const open = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId })).body;
      await ctx.api('POST', `/api/v1/runs/${open.id}/results`, { results });
      const wrong = await ctx.api('POST', `/api/v1/runs/${open.id}/complete`, {
        status: 'failed',
        error_count: 0,
      });
      expect(wrong.status).toBe(400);
      expect(wrong.body.details).toEqual({ field: 'error_count', given: 0, from_results: 1 });
      const done = await ctx.api('POST', `/api/v1/runs/${open.id}/complete`, {
        status: 'failed',
        failed_count: 1,
      });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.total_scenarios).toBe(3);
    });

    it('holds a run to RUNHOOK_MAX_RESULTS across requests: 413 naming the limit, nothing changed', async () => {
      const small = await createTestContext(backend, { env: { RUNHOOK_MAX_RESULTS: '5' } });
      try {
        const agent = (await small.api('POST', '/api/v1/agents', { name: 'Capped' })).body.id;
        const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => pass(`t${from + i}`));
        const once = await small.api('POST', '/api/v1/runs', {
          agent_id: agent,
          status: 'completed',
          results: many(6),
        });
        expect(once.status).toBe(413);
        expect(once.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: 5 } });
        expect(once.body.error).toContain('RUNHOOK_MAX_RESULTS');
        const run = (await small.api('POST', '/api/v1/runs', { agent_id: agent })).body;
        expect(run.test_run_id).toBe('TR-00001');
        const first = await small.api('POST', `/api/v1/runs/${run.id}/results`, { results: many(3) });
        expect(first.body).toEqual({ accepted: 3, total: 3 });
        const over = await small.api('POST', `/api/v1/runs/${run.id}/results`, { results: many(3, 3) });
        expect(over.status).toBe(413);
        expect(over.body.error).toContain('RUNHOOK_MAX_RESULTS');
        const last = await small.api('POST', `/api/v1/runs/${run.id}/complete`, {
          status: 'completed',
          results: many(3, 3),
        });
        expect(last.status).toBe(413);
        const still = await small.api('GET', `/api/v1/runs/${run.id}/results`);
        expect(still.body.test_run.status).toBe('running');
        expect(still.body.total).toBe(3);
        const done = await small.api('POST', `/api/v1/runs/${run.id}/complete`, {
          status: 'completed',
          results: many(2, 3),
        });
        expect(done.status, JSON.stringify(done.body)).toBe(200);
        expect(done.body.total_scenarios).toBe(5);
      } finally {
        await small.close();
      }
    });

    it('compares by failure names when a run has no results; fixed only from a complete list', async () => {
      const base = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'Names',
        status: 'failed',
        failed_count: 2,
        failures: [
          { name: 'one', classname: 's' },
          { name: 'two', classname: 's' },
        ],
      });
      const next = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'Names',
        status: 'failed',
        failed_count: 2,
        failures: [
          { name: 'two', classname: 's' },
          { name: 'three', classname: 's' },
        ],
      });
      const c = next.body.changes;
      expect(c.basis).toBe('failures');
      expect(c.baseline_test_run_id).toBe(base.body.test_run_id);
      expect(c.new_failures).toEqual([{ name: 'three', suite: 's', message: null }]);
      expect(c.fixed).toEqual([{ name: 'one', suite: 's' }]);
      expect(c.counts.still_failing).toBe(1);
      // An incomplete list (3 failing, 1 named) cannot say what was fixed.
      const partial = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'Names',
        status: 'failed',
        failed_count: 3,
        failures: [{ name: 'three', classname: 's' }],
      });
      expect(partial.body.changes.fixed).toEqual([]);
      expect(partial.body.changes.counts.still_failing).toBe(1);
    });

    it('uses a named baseline and keys the implicit one by test suite', async () => {
      const a = await finished([fail('x')], { test_suite_id: 'suite-1', name: 'first name' });
      await finished([pass('x')], { test_suite_id: 'suite-2', name: 'first name' });
      const b = await finished([pass('x')], { test_suite_id: 'suite-1', name: 'other name' });
      expect(b.changes.baseline_test_run_id).toBe(a.test_run_id);
      expect(b.changes.fixed).toEqual([{ name: 'x', suite: 'triage' }]);
      const named = await finished([pass('x')], { baseline_run_id: a.id, name: 'unrelated' });
      expect(named.baseline_run_id).toBe(a.id);
      expect(named.changes.baseline_test_run_id).toBe(a.test_run_id);
      const unknown = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        baseline_run_id: '00000000-0000-4000-8000-000000000000',
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.details.field).toBe('baseline_run_id');
    });

    it('takes a named baseline by TR- id, also one of another agent, matched by suite and name', async () => {
      const other = (await ctx.api('POST', '/api/v1/agents', { name: 'Other agent' })).body.id;
      const theirs = await ctx.api('POST', '/api/v1/runs', {
        agent_id: other,
        name: 'Theirs',
        status: 'failed',
        results: [fail('both'), fail('theirs-only'), pass('fixed-here'), pass('breaks-here')],
      });
      expect(theirs.status).toBe(201);
      const mine = await finished(
        [fail('both'), pass('fixed-here'), fail('breaks-here'), pass('mine-only')],
        {
          baseline_run_id: theirs.body.id,
        },
      );
      expect(mine.baseline_run_id).toBe(theirs.body.id);
      const c = mine.changes;
      expect(c.baseline_test_run_id).toBe(theirs.body.test_run_id);
      expect(c.basis).toBe('results');
      expect(c.new_failures.map((f: { name: string }) => f.name)).toEqual(['breaks-here']);
      expect(c.counts).toEqual({
        new_failures: 1,
        fixed: 0,
        still_failing: 1,
        flaky: 0,
        new_tests: 1,
        missing_tests: 1,
      });
      const list = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${mine.test_run_id}`);
      const changeOf = Object.fromEntries(
        list.body.scenario_runs.map((r: { scenario_name: string; change: string }) => [
          r.scenario_name,
          r.change,
        ]),
      );
      expect(changeOf).toEqual({
        both: 'still_failing',
        'breaks-here': 'new_failure',
        'fixed-here': 'unchanged',
        'mine-only': 'new',
      });
      const open = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: 'Open' })).body;
      const byTr = await ctx.api('POST', `/api/v1/runs/${open.id}/complete`, {
        status: 'failed',
        results: [fail('theirs-only')],
        baseline_run_id: theirs.body.test_run_id,
      });
      expect(byTr.status, JSON.stringify(byTr.body)).toBe(200);
      expect(byTr.body.changes.counts.still_failing).toBe(1);
      const unknownTr = await ctx.api('POST', `/api/v1/runs/${open.id}/complete`, {
        status: 'failed',
        baseline_run_id: 'TR-09999',
      });
      expect(unknownTr.status).toBe(400);
      expect(unknownTr.body.details.field).toBe('baseline_run_id');
    });

    it('keeps each test’s history: flipping tests are flaky, lists and history read back', async () => {
      const outcomes = ['passed', 'failed', 'passed', 'failed'];
      let last: { changes: { flaky: unknown[] } } | null = null;
      for (const status of outcomes) {
        last = await finished([
          pass('steady'),
          { name: 'flip', suite: 'triage', status, message: status === 'failed' ? 'nope' : null },
        ]);
      }
      expect(last?.changes.flaky).toEqual([{ name: 'flip', suite: 'triage', reason: 'flipping' }]);
      const tests = await ctx.api('GET', `/api/v1/agents/${agentId}/tests`);
      expect(tests.status).toBe(200);
      expect(tests.body.total).toBe(2);
      const flip = tests.body.tests[0];
      expect(flip).toMatchObject({
        name: 'flip',
        suite: 'triage',
        state: 'flaky',
        flaky: true,
        last_status: 'failed',
        runs: 4,
        failures: 2,
        fail_rate: 50,
        flips: 3,
        last_failure_message: 'nope',
        recent: ['failed', 'passed', 'failed', 'passed'],
      });
      const flaky = await ctx.api('GET', `/api/v1/agents/${agentId}/tests?state=flaky`);
      expect(flaky.body.tests.map((t: { name: string }) => t.name)).toEqual(['flip']);
      const search = await ctx.api('GET', `/api/v1/agents/${agentId}/tests?q=STEA`);
      expect(search.body.tests.map((t: { name: string }) => t.name)).toEqual(['steady']);
      const history = await ctx.api('GET', `/api/v1/agents/${agentId}/tests/${flip.id}/history?limit=3`);
      expect(history.status).toBe(200);
      expect(history.body.total).toBe(4);
      expect(history.body.results.map((r: { status: string }) => r.status)).toEqual([
        'failed',
        'passed',
        'failed',
      ]);
      expect(history.body.results[0].test_run_id).toBe('TR-00004');
      const nope = await ctx.api('GET', `/api/v1/agents/${agentId}/tests/999999/history`);
      expect(nope.status).toBe(404);
    });
  });
}
