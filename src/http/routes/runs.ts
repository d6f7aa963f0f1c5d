import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type FailureInput, normalizeFailure } from '../../domain/failures.js';
import {
  firstDuplicate,
  normalizeResult,
  type ResultInput,
  type ScenarioResult,
  testLabel,
} from '../../domain/results.js';
import { parseRunId } from '../../domain/runMath.js';
import { parseIsoTime } from '../../domain/time.js';
import {
  type FinalRunStatus,
  isFinalRunStatus,
  type RunStatus,
  type TestMode,
  type TestRun,
} from '../../domain/types.js';
import {
  AgentMissingError,
  InvalidStateError,
  ResultsRejectedError,
  type RunFinish,
} from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError, invalidField } from '../errors.js';
import { idempotentAnswer } from '../idempotency.js';
import { isUuid, pageOf } from '../params.js';
import { presentCreatedRun, presentRun } from '../present.js';
import {
  canceledRunSchema,
  cancelRunBody,
  completeRunBody,
  createdRunSchema,
  createRunBody,
  idempotencyHeaders,
  idParams,
  listResponse,
  runListQuery,
  runSchema,
} from '../schemas.js';
import { suiteNameFor, suiteNameOf, suiteNamesOf } from '../suiteNames.js';

interface FinishBody {
  passed_count?: number;
  failed_count?: number;
  error_count?: number;
  total_scenarios?: number;
  completed_at?: string;
  failures?: FailureInput[];
  results?: ResultInput[];
  baseline_run_id?: string;
}

/** Requests that may carry 10,000 scenario results take bodies this large (docs/api.md#scenario-results). */
export const RESULTS_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * The scenario results of a request, checked: at most `max` (413 naming the limit: `limitName`, the
 * setting that sets it, when there is one), no test twice (400 naming it).
 */
export function checkedResults(
  input: ResultInput[] | undefined,
  max: number,
  limitName = 'RUNHOOK_MAX_RESULTS',
): ScenarioResult[] | undefined {
  const field = 'results';
  if (input === undefined) return undefined;
  if (input.length > max) {
    const limit = limitName === '' ? `${max}` : `${max} (${limitName})`;
    throw new ApiError('PAYLOAD_TOO_LARGE', `${field} holds ${input.length} results; the limit is ${limit}`, {
      field,
      limit: max,
    });
  }
  for (const [i, r] of input.entries()) checkPoints(r, `${field}.${i}`);
  const results = input.map(normalizeResult);
  const twice = firstDuplicate(results);
  if (twice) {
    // The same details as a test already stored by an earlier chunk (scenarioResults.ts).
    throw new ApiError(
      'INVALID_FIELD_VALUE',
      `test ${JSON.stringify(testLabel(twice.suite, twice.name))} appears twice; a test (suite, name) has one result per run (merge retries into attempts)`,
      { field, name: twice.name, suite: twice.suite === '' ? null : twice.suite },
    );
  }
  return results;
}

/** Points awarded beyond the maximum would make a score over 100 %: refused, for the score and each criterion. */
function checkPoints(r: ResultInput, at: string): void {
  const over = (p: { points_awarded?: number | null; max_points?: number | null } | null | undefined) =>
    p != null && p.points_awarded != null && p.max_points != null && p.points_awarded > p.max_points;
  if (over(r.score)) {
    throw invalidField(`${at}.score.points_awarded`, `${at}.score.points_awarded must be <= max_points`);
  }
  const criterion = (r.criteria ?? []).findIndex(over);
  if (criterion !== -1) {
    const where = `${at}.criteria.${criterion}.points_awarded`;
    throw invalidField(where, `${where} must be <= max_points`);
  }
}

/** A store refusal of results as the API's error (docs/api.md#errors). */
export function resultsError(err: unknown): unknown {
  if (!(err instanceof ResultsRejectedError)) return err;
  return err.kind === 'too_many'
    ? new ApiError('PAYLOAD_TOO_LARGE', err.message, err.details)
    : new ApiError('INVALID_FIELD_VALUE', err.message, err.details);
}

interface CreateBody extends FinishBody {
  agent_id: string;
  name?: string;
  started_at?: string;
  status?: RunStatus;
  test_suite_id?: string;
  test_mode?: TestMode;
  max_scenarios?: number;
  max_turns?: number;
  group?: string;
  group_size?: number;
}

/** Preclinical's answer to a cancel (docs/api.md#run-status). */
const CANCEL_MESSAGE = 'Test run cancellation initiated';

/** A run of the organization by UUID or by its human id (`TR-00042`); 404 RUN_NOT_FOUND otherwise. */
export async function findRunOf(store: AppDeps['store'], orgId: string, id: string): Promise<TestRun> {
  const seq = parseRunId(id);
  const run = isUuid(id)
    ? await store.getRun(orgId, id)
    : seq !== null
      ? await store.getRunBySeq(orgId, seq)
      : null;
  if (!run) throw runNotFound();
  return run;
}

const runNotFound = () => new ApiError('RUN_NOT_FOUND', 'test run not found');

function time(field: string, text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = parseIsoTime(text);
  if (t === null) throw invalidField(field, `${field} must be an ISO-8601 time such as 2026-01-30T10:32:45Z`);
  return t;
}

const COUNT_FIELDS = ['passed_count', 'failed_count', 'error_count'] as const;

/** Checks a finish against the run's start and known total; a total below the sum is a 400 (docs/api.md#errors). */
function finishOf(
  status: FinalRunStatus,
  body: FinishBody,
  startedAt: number,
  knownTotal: number | null,
  now: number,
): RunFinish {
  const passed = body.passed_count ?? 0;
  const failed = body.failed_count ?? 0;
  const errored = body.error_count ?? 0;
  const total = body.total_scenarios ?? knownTotal;
  if (total !== null && total < passed + failed + errored) {
    throw invalidField(
      'total_scenarios',
      `total_scenarios (${total}) is smaller than passed_count + failed_count + error_count (${passed + failed + errored})`,
    );
  }
  const completedAt = time('completed_at', body.completed_at) ?? Math.max(now, startedAt);
  if (completedAt < startedAt)
    throw invalidField('completed_at', 'completed_at must not be before started_at');
  return {
    status,
    passedCount: passed,
    failedCount: failed,
    errorCount: errored,
    totalScenarios: body.total_scenarios ?? null,
    completedAt,
    ...(body.failures !== undefined && { failures: body.failures.map(normalizeFailure) }),
    countsGiven: COUNT_FIELDS.filter((k) => body[k] !== undefined),
    ...(body.baseline_run_id !== undefined && { baselineRunId: body.baseline_run_id }),
  };
}

export function registerRunRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const { publicUrl } = deps.config;
  const maxResults = deps.config.maxResults ?? 10_000;
  const tags = ['test runs'];

  /** A baseline the caller names (by UUID or `TR-` id) must be a run of the organization: its UUID. */
  async function baselineOf(orgId: string, id: string | undefined): Promise<string | undefined> {
    if (id === undefined) return undefined;
    try {
      return (await findRunOf(store, orgId, id)).id;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      throw invalidField('baseline_run_id', 'baseline_run_id names no test run of this organization');
    }
  }

  /** Runs are found by UUID or by their human id (`TR-00042`). */
  const findRun = (orgId: string, id: string) => findRunOf(store, orgId, id);

  api.post<{ Body: CreateBody }>(
    '/runs',
    {
      bodyLimit: RESULTS_BODY_LIMIT,
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Create a test run (running, or already finished with a final status and counts)',
        body: createRunBody,
        response: { 201: createdRunSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      // A size without a group counts nothing; refused as runhook report refuses --group-size alone.
      if (b.group_size !== undefined && b.group === undefined)
        throw invalidField('group_size', 'group_size needs group: the run group whose runs it counts');
      const t = now();
      const startedAt = time('started_at', b.started_at);
      const status = b.status ?? 'running';
      const final = isFinalRunStatus(status);
      const results = checkedResults(b.results, maxResults);
      const baselineRunId = await baselineOf(req.orgId, b.baseline_run_id);
      const suiteName = await suiteNameFor(store, req.orgId, b.test_suite_id);
      const input = {
        agentId: b.agent_id,
        name: b.name ?? 'Test run',
        totalScenarios: b.total_scenarios ?? null,
        startedAt,
        failures: (b.failures ?? []).map(normalizeFailure),
        testSuiteId: b.test_suite_id ?? null,
        testMode: b.test_mode ?? null,
        maxScenarios: b.max_scenarios ?? null,
        maxTurns: b.max_turns ?? null,
        baselineRunId: baselineRunId ?? null,
        group: b.group ?? null,
        groupSize: b.group_size ?? null,
      };
      try {
        if (!final) {
          const counts = ['passed_count', 'failed_count', 'error_count', 'completed_at', 'results'] as const;
          const extra = counts.find((k) => b[k] !== undefined);
          if (extra)
            throw invalidField(
              extra,
              extra === 'results'
                ? 'results can only be given with a final status; send them to POST /runs/{id}/results while the run is open'
                : `${extra} can only be given with a final status (completed, failed or canceled)`,
            );
          const run = await store.createRun(
            req.orgId,
            { ...input, status },
            publicUrl,
            t,
            idempotentAnswer(req, 201, (r) => presentCreatedRun(r, suiteName)),
          );
          return reply.code(201).send(presentCreatedRun(run, suiteName));
        }
        const finish = {
          ...finishOf(status, { ...b, baseline_run_id: baselineRunId }, startedAt ?? t, null, t),
          results,
          maxResults,
        };
        const run = await store.createFinishedRun(
          req.orgId,
          input,
          finish,
          publicUrl,
          t,
          idempotentAnswer(req, 201, (r) => presentCreatedRun(r, suiteName)),
        );
        return reply.code(201).send(presentCreatedRun(run, suiteName));
      } catch (err) {
        if (err instanceof AgentMissingError)
          throw new ApiError('AGENT_NOT_FOUND', 'agent not found', { field: 'agent_id' });
        throw resultsError(err);
      }
    },
  );

  async function finish(req: FastifyRequest, id: string, status: FinalRunStatus, body: FinishBody) {
    const { orgId } = req;
    const run = await findRun(orgId, id);
    const t = now();
    const results = checkedResults(body.results, maxResults);
    const baselineRunId = await baselineOf(orgId, body.baseline_run_id);
    const f = {
      ...finishOf(status, { ...body, baseline_run_id: baselineRunId }, run.startedAt, run.totalScenarios, t),
      results,
      maxResults,
    };
    // The answer kept for a replay, written with the run: the same as the first answer.
    const suiteName = await suiteNameOf(store, orgId, run);
    const answer = idempotentAnswer<TestRun>(req, 200, (r) =>
      status === 'canceled'
        ? { ...presentRun(r, suiteName), message: CANCEL_MESSAGE }
        : presentRun(r, suiteName),
    );
    try {
      const done = await store.finishRun(orgId, run.id, f, publicUrl, t, answer);
      return presentRun(done, suiteName);
    } catch (err) {
      if (err instanceof ResultsRejectedError) throw resultsError(err);
      if (err instanceof InvalidStateError) {
        const current = (await findRun(orgId, run.id)).status;
        throw new ApiError(
          'INVALID_STATE',
          status === 'canceled'
            ? `test run ${id} cannot be canceled: it is already ${current} (only pending, running or grading runs can be)`
            : `test run ${id} has already finished`,
          { status: current, current_status: current },
        );
      }
      throw err;
    }
  }

  api.post<{ Params: { id: string }; Body: FinishBody & { status: 'completed' | 'failed' } }>(
    '/runs/:id/complete',
    {
      bodyLimit: RESULTS_BODY_LIMIT,
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Finish a run; fires its event',
        params: idParams,
        body: completeRunBody,
        response: { 200: runSchema },
      },
    },
    async (req) => finish(req, req.params.id, req.body.status, req.body),
  );

  api.post<{ Params: { id: string }; Body: FinishBody }>(
    '/runs/:id/cancel',
    {
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Cancel a pending, running or grading run; fires its event',
        params: idParams,
        body: cancelRunBody,
        response: { 200: canceledRunSchema },
      },
    },
    async (req) => ({
      ...(await finish(req, req.params.id, 'canceled', req.body)),
      message: CANCEL_MESSAGE,
    }),
  );

  api.get<{ Querystring: { limit?: number; offset?: number; status?: RunStatus; agent_id?: string } }>(
    '/runs',
    {
      schema: {
        tags,
        summary: 'List test runs, newest first',
        querystring: runListQuery,
        response: { 200: listResponse('runs', runSchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listRuns(
        req.orgId,
        { status: req.query.status, agentId: req.query.agent_id },
        page,
      );
      const suiteName = await suiteNamesOf(store, req.orgId, items);
      return { runs: items.map((r) => presentRun(r, suiteName(r))), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/runs/:id',
    {
      schema: {
        tags,
        summary: 'Get a test run (by UUID or TR- id)',
        params: idParams,
        response: { 200: runSchema },
      },
    },
    async (req) => {
      const run = await findRun(req.orgId, req.params.id);
      return presentRun(run, await suiteNameOf(store, req.orgId, run));
    },
  );
}
