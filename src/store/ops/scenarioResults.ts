/**
 * Scenario results (docs/architecture.md#results): stored per run in bulk (one statement per step,
 * the rows as one JSON array parameter), and read back per run and per test. What changed since
 * the baseline is decided in compareWithBaseline.ts.
 */
import { type RawBuilder, sql } from 'kysely';
import { outcomeChar, pushOutcome, type TestState, testState } from '../../domain/changes.js';
import {
  RESULT_CHANGES,
  RESULT_STATUSES,
  type ResultChange,
  type ResultStatus,
  type ScenarioResult,
  testKey,
  testLabel,
} from '../../domain/results.js';
import { RUN_STATUS } from '../../domain/types.js';
import { type IdempotentAnswer, InvalidStateError, ResultsRejectedError } from '../store.js';
import type { Ctx, Db } from './context.js';
import { keepAnswerIn } from './idempotency.js';
import { num, numOrNull } from './mappers.js';

export const statusCode = (s: ResultStatus) => RESULT_STATUSES.indexOf(s);
export const changeCode = (c: ResultChange) => RESULT_CHANGES.indexOf(c);

/** The rows of a JSON array parameter as `e.value` (each a JSON array), on either database. */
export function jsonRows(ctx: Ctx, rows: unknown[]): RawBuilder<unknown> {
  const json = JSON.stringify(rows);
  return ctx.hooks.dialect === 'sqlite'
    ? sql`json_each(${json}) AS e`
    : sql`jsonb_array_elements(CAST(${json} AS jsonb)) AS e`;
}

/** Element `i` of the row, as a column of `type`. */
export function jsonCol(ctx: Ctx, i: number, type: 'text' | 'int' | 'real'): RawBuilder<unknown> {
  const t =
    type === 'text'
      ? 'text'
      : type === 'int'
        ? ctx.hooks.dialect === 'sqlite'
          ? 'integer'
          : 'bigint'
        : ctx.hooks.dialect === 'sqlite'
          ? 'real'
          : 'double precision';
  return sql.raw(`CAST(e.value->>${i} AS ${t})`);
}

/** The run's integer key for its results, made when its first results are stored. */
export async function resultRunKey(
  trx: Db,
  run: { id: string; orgId: string },
  now: number,
  create: boolean,
): Promise<{ key: number; count: number } | null> {
  const row = await trx
    .selectFrom('result_runs')
    .select(['key', 'result_count'])
    .where('run_id', '=', run.id)
    .executeTakeFirst();
  if (row) return { key: num(row.key), count: num(row.result_count) };
  if (!create) return null;
  const made = await trx
    .insertInto('result_runs')
    .values({ run_id: run.id, org_id: run.orgId, result_count: 0, created_at: now })
    .returning('key')
    .executeTakeFirstOrThrow();
  return { key: num(made.key), count: 0 };
}

interface TestRow {
  id: number;
  recent: string;
}

/**
 * The tests of these results, made where new, locked (PostgreSQL) in id order so that two runs of
 * one agent finishing at once update each test's history one after the other.
 */
export async function upsertTests(
  ctx: Ctx,
  trx: Db,
  scope: { orgId: string; agentId: string },
  results: readonly { suite: string; name: string }[],
  now: number,
): Promise<Map<string, TestRow>> {
  const out = new Map<string, TestRow>();
  if (results.length === 0) return out;
  // Sorted: concurrent runs insert shared new tests in one order (no deadlock on the unique index).
  const keys = results
    .map((r) => [r.suite, r.name])
    .sort((a, b) => testKey(a[0] ?? '', a[1] ?? '').localeCompare(testKey(b[0] ?? '', b[1] ?? '')));
  const rows = jsonRows(ctx, keys);
  await sql`INSERT INTO tests (org_id, agent_id, suite, name, created_at)
    SELECT ${scope.orgId}, ${scope.agentId}, ${jsonCol(ctx, 0, 'text')}, ${jsonCol(ctx, 1, 'text')}, ${now}
    FROM ${rows} WHERE true
    ON CONFLICT (agent_id, suite, name) DO NOTHING`.execute(trx);
  const lock = ctx.hooks.dialect === 'postgres' ? sql`ORDER BY t.id FOR UPDATE OF t` : sql``;
  // SQLite: CROSS JOIN keeps the JSON rows outside, each test found by its unique index; the
  // planner otherwise walks every test of the agent once per row (seconds at 5,000 results).
  const join = ctx.hooks.dialect === 'sqlite' ? sql`CROSS JOIN` : sql`JOIN`;
  const found = await sql<{ id: number | string; suite: string; name: string; recent: string }>`
    SELECT t.id, t.suite, t.name, t.recent FROM ${rows}
    ${join} tests t ON t.agent_id = ${scope.agentId} AND t.suite = ${jsonCol(ctx, 0, 'text')} AND t.name = ${jsonCol(ctx, 1, 'text')}
    ${lock}`.execute(trx);
  for (const r of found.rows) out.set(testKey(r.suite, r.name), { id: num(r.id), recent: r.recent });
  return out;
}

/**
 * Stores results for a run (its key made if needed): refuses, changing nothing, a test the run
 * already has and more than `maxResults` in all. Change codes are written when the run finishes.
 */
export async function insertResults(
  ctx: Ctx,
  trx: Db,
  run: { id: string; orgId: string; agentId: string },
  results: readonly ScenarioResult[],
  maxResults: number,
  now: number,
): Promise<{ key: number; total: number }> {
  const runKey = await resultRunKey(trx, run, now, true);
  if (!runKey) throw new Error('result key not made');
  const total = runKey.count + results.length;
  if (total > maxResults) {
    throw new ResultsRejectedError(
      `a test run holds at most ${maxResults} results (RUNHOOK_MAX_RESULTS); this one would hold ${total}`,
      'too_many',
      { limit: maxResults, total },
    );
  }
  if (results.length === 0) return { key: runKey.key, total };
  const tests = await upsertTests(ctx, trx, run, results, now);
  if (runKey.count > 0) {
    const existing = await trx
      .selectFrom('test_results')
      .select('test_id')
      .where('run_key', '=', runKey.key)
      .execute();
    const had = new Set(existing.map((r) => num(r.test_id)));
    const twice = results.find((r) => had.has(tests.get(testKey(r.suite, r.name))?.id ?? -1));
    if (twice) {
      throw new ResultsRejectedError(
        `the run already has a result for test ${JSON.stringify(testLabel(twice.suite, twice.name))}`,
        'invalid',
        { field: 'results', name: twice.name, suite: twice.suite === '' ? null : twice.suite },
      );
    }
  }
  const rows = results.map((r) => [
    tests.get(testKey(r.suite, r.name))?.id,
    statusCode(r.status),
    r.durationMs,
    r.attempts === 1 ? null : r.attempts,
    r.message,
    r.score?.points_awarded ?? null,
    r.score?.max_points ?? null,
    r.criteria === null ? null : JSON.stringify(r.criteria),
  ]);
  await sql`INSERT INTO test_results
      (run_key, test_id, status, change, duration_ms, attempts, message, score_awarded, score_max, criteria)
    SELECT ${runKey.key}, ${jsonCol(ctx, 0, 'int')}, ${jsonCol(ctx, 1, 'int')}, 0, ${jsonCol(ctx, 2, 'int')},
      ${jsonCol(ctx, 3, 'int')}, ${jsonCol(ctx, 4, 'text')}, ${jsonCol(ctx, 5, 'real')}, ${jsonCol(ctx, 6, 'real')},
      ${jsonCol(ctx, 7, 'text')}
    FROM ${jsonRows(ctx, rows)}`.execute(trx);
  await trx.updateTable('result_runs').set({ result_count: total }).where('key', '=', runKey.key).execute();
  return { key: runKey.key, total };
}

/** POST /runs/{id}/results: a chunk for a run that is not final, under the run's row lock. */
export async function addRunResults(
  ctx: Ctx,
  orgId: string,
  runId: string,
  results: ScenarioResult[],
  maxResults: number,
  now: number,
  answer?: IdempotentAnswer<{ accepted: number; total: number }>,
): Promise<{ accepted: number; total: number }> {
  return ctx.db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom('test_runs')
      .select(['id', 'agent_id', 'status'])
      .where('org_id', '=', orgId)
      .where('id', '=', runId);
    if (ctx.hooks.dialect === 'postgres') q = q.forUpdate();
    const run = await q.executeTakeFirst();
    if (!run) throw new InvalidStateError('test run not found');
    const open: string[] = [RUN_STATUS.pending, RUN_STATUS.running, 'grading'];
    if (!open.includes(run.status)) throw new InvalidStateError(run.status);
    const { total } = await insertResults(
      ctx,
      trx,
      { id: runId, orgId, agentId: run.agent_id },
      results,
      maxResults,
      now,
    );
    const out = { accepted: results.length, total };
    // A CI step that died after this commit gets this answer again, not a 400 for its tests.
    await keepAnswerIn(trx, answer, out);
    return out;
  });
}

/** A run's stored results with their tests, for the comparison at finish. */
export interface RunResultRow {
  id: number;
  testId: number;
  suite: string;
  name: string;
  recent: string;
  /** The test's state before this run (docs/api.md#test-history). */
  state: string;
  status: ResultStatus;
  attempts: number;
  message: string | null;
  scoreAwarded: number | null;
  scoreMax: number | null;
}

export async function readRunResults(trx: Db, runKey: number): Promise<RunResultRow[]> {
  const rows = await trx
    .selectFrom('test_results as r')
    .innerJoin('tests as t', 't.id', 'r.test_id')
    .select([
      'r.id',
      'r.test_id',
      't.suite',
      't.name',
      't.recent',
      't.state',
      'r.status',
      'r.attempts',
      'r.message',
      'r.score_awarded',
      'r.score_max',
    ])
    .where('r.run_key', '=', runKey)
    .orderBy('r.id')
    .execute();
  return rows.map((r) => ({
    id: num(r.id),
    testId: num(r.test_id),
    suite: r.suite,
    name: r.name,
    recent: r.recent,
    state: r.state,
    status: RESULT_STATUSES[num(r.status)] ?? 'passed',
    attempts: numOrNull(r.attempts) ?? 1,
    message: r.message,
    scoreAwarded: numOrNull(r.score_awarded),
    scoreMax: numOrNull(r.score_max),
  }));
}

/** A test whose state this run changed: what its `test_status_changed` event says. */
export interface TestStateChange {
  testId: string;
  name: string;
  suite: string | null;
  state: TestState;
  previousState: TestState;
  lastStatus: ResultStatus;
  message: string | null;
}

/**
 * After the comparison: each result's change code (only those not `unchanged`), and each test's
 * recent outcomes and state. Returns the tests whose state changed (docs/delivery.md#event-types).
 */
export async function writeComparison(
  ctx: Ctx,
  trx: Db,
  rows: readonly RunResultRow[],
  perResult: ReadonlyMap<string, ResultChange>,
  finishedAt: number,
): Promise<TestStateChange[]> {
  if (rows.length === 0) return [];
  const changed = rows.flatMap((r) => {
    const c = perResult.get(testKey(r.suite, r.name)) ?? 'unchanged';
    return c === 'unchanged' ? [] : [[r.id, changeCode(c)]];
  });
  if (changed.length > 0) {
    await sql`UPDATE test_results SET change = ${jsonCol(ctx, 1, 'int')}
      FROM ${jsonRows(ctx, changed)} WHERE test_results.id = ${jsonCol(ctx, 0, 'int')}`.execute(trx);
  }
  const stateChanges: TestStateChange[] = [];
  const tests = rows.map((r) => {
    const recent = pushOutcome(r.recent, outcomeChar(r.status, r.attempts));
    const failing = r.status === 'failed' || r.status === 'error';
    const state = testState(recent);
    if (state !== r.state) {
      stateChanges.push({
        testId: String(r.testId),
        name: r.name,
        suite: r.suite === '' ? null : r.suite,
        state,
        previousState: r.state as TestState,
        lastStatus: r.status,
        message: failing ? r.message : null,
      });
    }
    return [r.testId, recent, state, r.status, failing ? (r.message ?? '') : null];
  });
  await sql`UPDATE tests SET recent = ${jsonCol(ctx, 1, 'text')}, state = ${jsonCol(ctx, 2, 'text')},
      last_status = ${jsonCol(ctx, 3, 'text')}, last_run_at = ${finishedAt},
      last_failure_message = CASE WHEN ${jsonCol(ctx, 4, 'text')} IS NULL THEN tests.last_failure_message
                                  ELSE ${jsonCol(ctx, 4, 'text')} END
    FROM ${jsonRows(ctx, tests)} WHERE tests.id = ${jsonCol(ctx, 0, 'int')}`.execute(trx);
  return stateChanges;
}
