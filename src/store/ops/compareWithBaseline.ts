/**
 * When a run becomes final (docs/api.md#what-changed): its counts and failures from its scenario
 * results, its baseline chosen, what changed computed and stored on the run, each test's history
 * moved on. Runs inside the transaction that creates the run's event.
 */
import { type ComparedResult, type ComparedRun, compareRuns, isNotable } from '../../domain/changes.js';
import { FAILURE_LIMITS } from '../../domain/failures.js';
import { countResults, failuresFromResults, scorePercent, testKey } from '../../domain/results.js';
import { durationSeconds, effectiveTotal, formatRunId, passRate } from '../../domain/runMath.js';
import { type FinalRunStatus, RUN_STATUS, type TestRun } from '../../domain/types.js';
import type { TestRunsTable } from '../schema.js';
import { ResultsRejectedError, type RunFinish } from '../store.js';
import type { Ctx, Db } from './context.js';
import { toRun } from './mappers.js';
import {
  insertResults,
  type RunResultRow,
  readRunResults,
  resultRunKey,
  type TestStateChange,
  writeComparison,
} from './scenarioResults.js';

export const DEFAULT_MAX_RESULTS = 10_000;

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

function resultMap(rows: readonly RunResultRow[], withHistory: boolean): Map<string, ComparedResult> {
  const map = new Map<string, ComparedResult>();
  for (const r of rows) {
    map.set(testKey(r.suite, r.name), {
      name: r.name,
      suite: r.suite,
      status: r.status,
      attempts: r.attempts,
      message: r.message,
      ...(withHistory && { recentBefore: r.recent }),
    });
  }
  return map;
}

/**
 * Settles a run that was just made final in `trx` (its row as written): stores the results sent
 * with the finish, derives counts, failures and score from all its results, compares it with its
 * baseline and writes the changes. `notable`: what `filter.only_changes` needs; `stateChanges`:
 * the tests whose state it changed.
 */
export async function settleFinishedRun(
  ctx: Ctx,
  trx: Db,
  run: TestRun,
  finish: RunFinish,
  now: number,
): Promise<{ run: TestRun; notable: boolean; stateChanges: TestStateChange[] }> {
  const maxResults = finish.maxResults ?? DEFAULT_MAX_RESULTS;
  if (finish.results && finish.results.length > 0) {
    await insertResults(ctx, trx, run, finish.results, maxResults, now);
  }
  const key = await resultRunKey(trx, run, now, false);
  const rows = key && key.count > 0 ? await readRunResults(trx, key.key) : [];
  let settled = run;
  if (rows.length > 0) {
    const counts = countResults(rows);
    const given = {
      passed_count: run.passedCount,
      failed_count: run.failedCount,
      error_count: run.errorCount,
    };
    const derived = { passed_count: counts.passed, failed_count: counts.failed, error_count: counts.error };
    if (finish.countsGiven) {
      const field = (Object.keys(given) as (keyof typeof given)[]).find((k) => given[k] !== derived[k]);
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
      (run.failures.length > 0
        ? run.failures
        : failuresFromResults(
            rows.map((r) => ({ ...r, durationMs: null, score: null, criteria: null })),
            FAILURE_LIMITS.perRun,
          ));
    settled = {
      ...run,
      passedCount: counts.passed,
      failedCount: counts.failed,
      errorCount: counts.error,
      totalScenarios: counts.total,
      failures,
      score: scorePercent(
        rows.map((r) =>
          r.scoreAwarded === null || r.scoreMax === null
            ? { score: null }
            : { score: { points_awarded: r.scoreAwarded, max_points: r.scoreMax } },
        ),
      ),
    };
  }

  const named = finish.baselineRunId ?? run.baselineRunId ?? null;
  const baselineRow = await findBaseline(trx, run, named);
  let baseline: ComparedRun | null = null;
  if (baselineRow) {
    const base = toRun(baselineRow);
    let baseResults: ComparedRun['results'] = null;
    if (rows.length > 0) {
      const baseKey = await resultRunKey(trx, base, now, false);
      if (baseKey && baseKey.count > 0)
        baseResults = resultMap(await readRunResults(trx, baseKey.key), false);
    }
    baseline = comparedRun(base, baseResults);
  }
  const current = comparedRun(settled, rows.length > 0 ? resultMap(rows, true) : null);
  const { changes, perResult } = compareRuns(current, baseline);
  const stateChanges = await writeComparison(ctx, trx, rows, perResult, settled.completedAt ?? now);

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
    stateChanges,
  };
}
