/**
 * When a run becomes final (docs/api.md#what-changed): its counts and failures from its scenario
 * results, its baseline chosen, what changed computed and stored on the run, each test's history
 * moved on. Runs inside the transaction that creates the run's event.
 */
import { type ComparedResult, type ComparedRun, compareRuns, isNotable } from '../../domain/changes.js';
import { FAILURE_LIMITS } from '../../domain/failures.js';
import {
  countResults,
  failuresFromResults,
  type ResultChange,
  type ResultStatus,
  type ScenarioResult,
  scorePercent,
  testKey,
} from '../../domain/results.js';
import { durationSeconds, effectiveTotal, formatRunId, passRate } from '../../domain/runMath.js';
import { type FinalRunStatus, RUN_STATUS, type TestRun } from '../../domain/types.js';
import type { TestRunsTable } from '../schema.js';
import { ResultsRejectedError, type RunFinish } from '../store.js';
import type { Ctx, Db } from './context.js';
import { toRun } from './mappers.js';
import {
  advanceTestHistory,
  insertResults,
  readResultStatuses,
  readRunResults,
  resultRunKey,
  type TestHistory,
  type TestStateChange,
  writeChangeCodes,
} from './scenarioResults.js';

export const DEFAULT_MAX_RESULTS = 10_000;

export const maxResultsOf = (finish: RunFinish) => finish.maxResults ?? DEFAULT_MAX_RESULTS;

/** The run's status is one a baseline may have. */
const BASELINE_STATUSES = [RUN_STATUS.completed, RUN_STATUS.failed];

/**
 * The run a finished run is compared with: the one it names, if that one is completed or failed;
 * else the agent's latest earlier completed or failed run with the same test suite (or, without
 * one, the same name).
 */
export async function findBaseline(
  db: Db,
  run: Pick<TestRun, 'id' | 'orgId' | 'agentId' | 'seq' | 'name' | 'testSuiteId'>,
  named: string | null,
): Promise<TestRunsTable | null> {
  if (named) {
    const row = await db
      .selectFrom('test_runs')
      .selectAll()
      .where('org_id', '=', run.orgId)
      .where('id', '=', named)
      .where('id', '!=', run.id)
      .where('status', 'in', BASELINE_STATUSES)
      .executeTakeFirst();
    return row ?? null;
  }
  return (await baselineQuery(db, run).selectAll().executeTakeFirst()) ?? null;
}

/** The implicit baseline's query (one row at most); `seq` null: any earlier run (a run not yet numbered). */
export function baselineQuery(
  db: Db,
  run: { orgId: string; agentId: string; seq: number | null; name: string; testSuiteId: string | null },
) {
  let q = db
    .selectFrom('test_runs')
    .where('org_id', '=', run.orgId)
    .where('agent_id', '=', run.agentId)
    .where('status', 'in', BASELINE_STATUSES);
  if (run.seq !== null) q = q.where('seq', '<', run.seq);
  q =
    run.testSuiteId === null
      ? q.where('name', '=', run.name)
      : q.where('test_suite_id', '=', run.testSuiteId);
  return q.orderBy('seq', 'desc').limit(1);
}

/** A finished run as the comparison reads it; `results` only when it has (and the other side uses) them. */
export function comparedRun(run: TestRun, results: ComparedRun['results']): ComparedRun {
  const total = effectiveTotal(run.passedCount, run.failedCount, run.errorCount, run.totalScenarios);
  return {
    testRunId: formatRunId(run.seq),
    status: run.status as FinalRunStatus,
    passRate: passRate(run.passedCount, total),
    durationSeconds: durationSeconds(run.startedAt, run.completedAt ?? run.startedAt),
    failingCount: run.failedCount + run.errorCount,
    failures: run.failures,
    results,
    score: run.score ?? null,
  };
}

/**
 * PostgreSQL: one settling run of an agent at a time from here to its commit, so that each test's
 * history moves on one run after the other and a run's baseline is the one that settled before it.
 * One row lock (the agent's, which inserts referencing it do not wait for) rather than one per test.
 */
async function lockAgentHistory(ctx: Ctx, trx: Db, agentId: string): Promise<void> {
  if (ctx.hooks.dialect !== 'postgres') return;
  await trx.selectFrom('agents').select('id').where('id', '=', agentId).forNoKeyUpdate().execute();
}

/** A test whose state the run changed, with the run's result of it: a `test_status_changed` event. */
export interface SettledStateChange extends TestStateChange {
  lastStatus: ResultStatus;
  message: string | null;
}

/**
 * Settles a run that was just made final in `trx` (its row as written): stores the results sent
 * with the finish (unless `stored` says the caller did), derives counts, failures and score from
 * all its results, compares it with its baseline and writes the changes. `notable`: what
 * `filter.only_changes` needs.
 */
export async function settleFinishedRun(
  ctx: Ctx,
  trx: Db,
  run: TestRun,
  finish: RunFinish,
  now: number,
  stored?: { key: number; total: number },
): Promise<{ run: TestRun; notable: boolean; stateChanges: SettledStateChange[] }> {
  const maxResults = maxResultsOf(finish);
  const sent = finish.results ?? [];
  let key = stored ?? null;
  if (!key && sent.length > 0) key = await insertResults(ctx, trx, run, sent, maxResults, now);
  if (!key) {
    const found = await resultRunKey(trx, run, now, false);
    key = found && { key: found.key, total: found.count };
  }
  // All of them came with the finish: no need to read them back.
  const results: readonly ScenarioResult[] =
    !key || key.total === 0 ? [] : key.total === sent.length ? sent : await readRunResults(trx, key.key);
  let settled = run;
  if (results.length > 0) {
    const counts = countResults(results);
    const given = {
      passed_count: run.passedCount,
      failed_count: run.failedCount,
      error_count: run.errorCount,
    };
    const derived = { passed_count: counts.passed, failed_count: counts.failed, error_count: counts.error };
    if (finish.countsGiven) {
      const field = finish.countsGiven.find((k) => given[k] !== derived[k]);
      if (field) {
        throw new ResultsRejectedError(
          `${field} (${given[field]}) disagrees with the results (${derived[field]})`,
          'invalid',
          { field, given: given[field], from_results: derived[field] },
        );
      }
    }
    if (finish.totalScenarios !== null && finish.totalScenarios !== counts.total) {
      throw new ResultsRejectedError(
        `total_scenarios (${finish.totalScenarios}) disagrees with the results (${counts.total}; skipped ones are not counted)`,
        'invalid',
        { field: 'total_scenarios', given: finish.totalScenarios, from_results: counts.total },
      );
    }
    const failures =
      finish.failures ??
      (run.failures.length > 0 ? run.failures : failuresFromResults(results, FAILURE_LIMITS.perRun));
    settled = {
      ...run,
      passedCount: counts.passed,
      failedCount: counts.failed,
      errorCount: counts.error,
      totalScenarios: counts.total,
      failures,
      score: scorePercent(results),
    };
  }

  let history: Awaited<ReturnType<typeof advanceTestHistory>> | null = null;
  if (key && results.length > 0) {
    await lockAgentHistory(ctx, trx, run.agentId);
    history = await advanceTestHistory(ctx, trx, key.key, settled.completedAt ?? now);
  }
  const named = finish.baselineRunId ?? run.baselineRunId ?? null;
  const baselineRow = await findBaseline(trx, run, named);
  const testsByKey = new Map<string, TestHistory>();
  const keysById = new Map<number, string>();
  for (const t of history?.tests ?? []) {
    const k = testKey(t.suite, t.name);
    testsByKey.set(k, t);
    keysById.set(t.id, k);
  }
  let baseline: ComparedRun | null = null;
  if (baselineRow) {
    const base = toRun(baselineRow);
    let baseResults: ComparedRun['results'] = null;
    if (results.length > 0) {
      const baseKey = await resultRunKey(trx, base, now, false);
      if (baseKey && baseKey.count > 0)
        baseResults =
          base.agentId === run.agentId
            ? baselineResults(await readResultStatuses(trx, baseKey.key), testsByKey, keysById)
            : otherAgentResults(await readRunResults(trx, baseKey.key));
    }
    baseline = comparedRun(base, baseResults);
  }
  const current = comparedRun(settled, results.length > 0 ? currentResults(results, testsByKey) : null);
  const { changes, perResult } = compareRuns(current, baseline);
  if (key && results.length > 0) {
    const changed: [number, ResultChange][] = [];
    for (const [k, c] of perResult) {
      const id = testsByKey.get(k)?.id;
      if (c !== 'unchanged' && id !== undefined) changed.push([id, c]);
    }
    await writeChangeCodes(ctx, trx, key.key, changed);
  }

  const resultsByKey = new Map<string, ScenarioResult>();
  if ((history?.stateChanges.length ?? 0) > 0)
    for (const r of results) resultsByKey.set(testKey(r.suite, r.name), r);
  const row = await trx
    .updateTable('test_runs')
    .set({
      passed_count: settled.passedCount,
      failed_count: settled.failedCount,
      error_count: settled.errorCount,
      total_scenarios: settled.totalScenarios,
      failures: JSON.stringify(settled.failures),
      changes: changes === null ? null : JSON.stringify(changes),
      score: settled.score ?? null,
      ...(finish.baselineRunId !== undefined && { baseline_run_id: finish.baselineRunId }),
    })
    .where('id', '=', run.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return {
    run: toRun(row),
    notable: isNotable(changes, run.status as FinalRunStatus, baselineRow?.status ?? null),
    stateChanges: (history?.stateChanges ?? []).map((c) => {
      const r = resultsByKey.get(testKey(c.suite, c.name));
      const failing = r?.status === 'failed' || r?.status === 'error';
      return { ...c, lastStatus: r?.status ?? 'passed', message: failing ? (r?.message ?? null) : null };
    }),
  };
}

/** The finished run's results by testKey, each with its test's outcomes before this run. */
function currentResults(
  results: readonly ScenarioResult[],
  tests: ReadonlyMap<string, TestHistory>,
): Map<string, ComparedResult> {
  const map = new Map<string, ComparedResult>();
  for (const r of results) {
    const key = testKey(r.suite, r.name);
    map.set(key, {
      name: r.name,
      suite: r.suite,
      status: r.status,
      attempts: r.attempts,
      message: r.message,
      // The history as moved on has this run's outcome first.
      recentBefore: tests.get(key)?.recent.slice(1) ?? '',
    });
  }
  return map;
}

/**
 * The baseline's results by testKey, read by test id: the ones the finished run also has get its
 * test's key; the others (missing from this run; only counted) a key no test has.
 */
function baselineResults(
  rows: readonly { testId: number; status: ResultStatus }[],
  tests: ReadonlyMap<string, TestHistory>,
  keysById: ReadonlyMap<number, string>,
): Map<string, ComparedResult> {
  const map = new Map<string, ComparedResult>();
  for (const r of rows) {
    const key = keysById.get(r.testId);
    const t = key === undefined ? undefined : tests.get(key);
    const entry = {
      name: t?.name ?? '',
      suite: t?.suite ?? '',
      status: r.status,
      attempts: 1,
      message: null,
    };
    map.set(key ?? `#${r.testId}`, entry);
  }
  return map;
}

/**
 * A named baseline of another agent: its tests are that agent's, so its results are matched by
 * (suite, name) rather than by test id.
 */
function otherAgentResults(rows: readonly ScenarioResult[]): Map<string, ComparedResult> {
  const map = new Map<string, ComparedResult>();
  for (const r of rows) {
    map.set(testKey(r.suite, r.name), {
      name: r.name,
      suite: r.suite,
      status: r.status,
      attempts: r.attempts,
      message: r.message,
    });
  }
  return map;
}
