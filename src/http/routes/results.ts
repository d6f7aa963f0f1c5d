import type { FastifyInstance } from 'fastify';
import {
  RESULT_LIMITS,
  type ResultChange,
  type ResultInput,
  type ResultStatus,
} from '../../domain/results.js';
import { InvalidStateError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { idempotentAnswer } from '../idempotency.js';
import { isUuid, pageOf } from '../params.js';
import { presentAgentTest, presentRun, presentScenarioRun } from '../present.js';
import {
  addResultsBody,
  addResultsResponse,
  agentTestsQuery,
  agentTestsResponse,
  idempotencyHeaders,
  idParams,
  listQuery,
  resultIdParams,
  runResultsResponse,
  scenarioRunListQuery,
  scenarioRunSchema,
  testHistoryResponse,
} from '../schemas.js';
import { suiteNameOf } from '../suiteNames.js';
import { checkedResults, findRunOf, RESULTS_BODY_LIMIT, resultsError } from './runs.js';

/**
 * Scenario results, what changed, and test history (docs/api.md#scenario-results): the chunked
 * upload of an open run's results, Preclinical's scenario-run reads, and an agent's tests.
 */
export function registerResultRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const maxResults = deps.config.maxResults ?? 10_000;

  const findRun = (orgId: string, id: string) => findRunOf(store, orgId, id);

  async function findAgent(orgId: string, id: string) {
    const agent = isUuid(id) ? await store.getAgent(orgId, id) : null;
    if (!agent) throw new ApiError('AGENT_NOT_FOUND', 'agent not found');
    return agent;
  }

  api.post<{ Params: { id: string }; Body: { results: ResultInput[] } }>(
    '/runs/:id/results',
    {
      bodyLimit: RESULTS_BODY_LIMIT,
      // A CI step that died between chunks sends them again with the same keys.
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags: ['test runs'],
        summary: `Add up to ${RESULT_LIMITS.perChunk} scenario results to a run that is not final`,
        params: idParams,
        body: addResultsBody,
        response: { 200: addResultsResponse },
      },
    },
    async (req) => {
      const run = await findRun(req.orgId, req.params.id);
      const results = checkedResults(req.body.results, RESULT_LIMITS.perChunk, '') ?? [];
      try {
        return await store.addRunResults(
          req.orgId,
          run.id,
          results,
          maxResults,
          now(),
          idempotentAnswer(req, 200, (out) => out),
        );
      } catch (err) {
        if (err instanceof InvalidStateError) {
          throw new ApiError('INVALID_STATE', `test run ${req.params.id} is final; its results are closed`, {
            current_status: err.message,
          });
        }
        throw resultsError(err);
      }
    },
  );

  api.get<{ Params: { id: string } }>(
    '/runs/:id/results',
    {
      schema: {
        tags: ['test runs'],
        summary: 'A run with what changed, a summary of its results and its first 50, failed first',
        params: idParams,
        response: { 200: runResultsResponse },
      },
    },
    async (req) => {
      const run = await findRun(req.orgId, req.params.id);
      const [summary, page] = await Promise.all([
        store.summarizeResults(req.orgId, run.id),
        store.listScenarioRuns(req.orgId, run.id, {}, { limit: 50, offset: 0 }),
      ]);
      return {
        test_run: presentRun(run, await suiteNameOf(store, req.orgId, run)),
        changes: run.changes ?? null,
        summary,
        scenario_runs: page.items.map(presentScenarioRun),
        total: page.total,
      };
    },
  );

  api.get<{
    Querystring: {
      test_run_id: string;
      status?: ResultStatus;
      passed?: boolean;
      change?: ResultChange;
      q?: string;
      limit?: number;
      offset?: number;
    };
  }>(
    '/scenario-runs',
    {
      schema: {
        tags: ['scenario results'],
        summary: 'A run’s scenario results, failed first',
        querystring: scenarioRunListQuery,
        response: {
          200: {
            type: 'object',
            required: ['scenario_runs', 'total', 'limit', 'offset'],
            properties: {
              scenario_runs: { type: 'array', items: scenarioRunSchema },
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const run = await findRun(req.orgId, q.test_run_id);
      const page = { limit: q.limit ?? 50, offset: q.offset ?? 0 };
      const { items, total } = await store.listScenarioRuns(
        req.orgId,
        run.id,
        { status: q.status, passed: q.passed, change: q.change, q: q.q },
        page,
      );
      return { scenario_runs: items.map(presentScenarioRun), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/scenario-runs/:id',
    {
      schema: {
        tags: ['scenario results'],
        summary: 'One scenario result',
        params: resultIdParams,
        response: { 200: scenarioRunSchema },
      },
    },
    async (req) => {
      const result = await store.getScenarioRun(req.orgId, req.params.id);
      if (!result) throw new ApiError('NOT_FOUND', 'scenario result not found');
      return presentScenarioRun(result);
    },
  );

  api.get<{
    Params: { id: string };
    Querystring: { state?: 'failing' | 'flaky' | 'passing'; q?: string; limit?: number; offset?: number };
  }>(
    '/agents/:id/tests',
    {
      schema: {
        tags: ['agents'],
        summary: 'An agent’s tests over their last 20 results: failing, then flaky, then passing',
        params: idParams,
        querystring: agentTestsQuery,
        response: { 200: agentTestsResponse },
      },
    },
    async (req) => {
      const agent = await findAgent(req.orgId, req.params.id);
      const page = pageOf(req.query);
      const { items, total } = await store.listAgentTests(
        req.orgId,
        agent.id,
        { state: req.query.state, q: req.query.q },
        page,
      );
      return { tests: items.map(presentAgentTest), total, ...page };
    },
  );

  api.get<{ Params: { id: string; test_id: string }; Querystring: { limit?: number; offset?: number } }>(
    '/agents/:id/tests/:test_id/history',
    {
      schema: {
        tags: ['agents'],
        summary: 'A test’s results across runs, newest first',
        params: {
          type: 'object',
          required: ['id', 'test_id'],
          properties: { id: { type: 'string' }, test_id: { type: 'string' } },
        },
        querystring: listQuery(),
        response: { 200: testHistoryResponse },
      },
    },
    async (req) => {
      const agent = await findAgent(req.orgId, req.params.id);
      const test = await store.getAgentTest(req.orgId, agent.id, req.params.test_id);
      if (!test) throw new ApiError('NOT_FOUND', 'test not found');
      const page = pageOf(req.query);
      const { items, total } = await store.testHistory(req.orgId, agent.id, test.id, page);
      return { test: presentAgentTest(test), results: items.map(presentScenarioRun), total, ...page };
    },
  );
}
