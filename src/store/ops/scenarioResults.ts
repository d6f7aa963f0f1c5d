/**
 * Scenario results (docs/architecture.md#results): stored per run in bulk (one statement per step,
 * the rows as one JSON array parameter), and read back per run and per test. What changed since
 * the baseline is decided in compareWithBaseline.ts.
 */
import { type RawBuilder, sql } from 'kysely';
import { outcomeChar, RECENT_LENGTH, type TestState, testState } from '../../domain/changes.js';
import {
  countResults,
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

/** Any fixed order of test keys: concurrent runs then insert shared new tests in one order. */
const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The tests of these results, made where new. Inserted in key order so that concurrent runs that
 * share new tests take the unique index's entries in one order (no deadlock on PostgreSQL). The
 * known ones are left out first: PostgreSQL's ON CONFLICT check costs several times an index
 * lookup per row, and after the first run nearly every test is known.
 */
export async function upsertTests(
  ctx: Ctx,
  trx: Db,
  scope: { orgId: string; agentId: string },
  results: readonly { suite: string; name: string }[],
  now: number,
): Promise<void> {
  if (results.length === 0) return;
  const keys = results.map((r) => ({ key: testKey(r.suite, r.name), row: [r.suite, r.name] }));
  // Only PostgreSQL takes row locks that the order matters for; SQLite has one writer.
  if (ctx.hooks.dialect === 'postgres') keys.sort(byKey);
  await sql`INSERT INTO tests (org_id, agent_id, suite, name, created_at)
    SELECT ${scope.orgId}, ${scope.agentId}, ${jsonCol(ctx, 0, 'text')}, ${jsonCol(ctx, 1, 'text')}, ${now}
    FROM ${jsonRows(
      ctx,
      keys.map((k) => k.row),
    )}
    WHERE NOT EXISTS (SELECT 1 FROM tests t WHERE t.agent_id = ${scope.agentId}
                        AND t.suite = ${jsonCol(ctx, 0, 'text')} AND t.name = ${jsonCol(ctx, 1, 'text')})
    ON CONFLICT (agent_id, suite, name) DO NOTHING`.execute(trx);
}

/** The JSON rows' tests: each found by its unique index (rows: [suite, name, …]). */
function joinTests(ctx: Ctx, agentId: string): RawBuilder<unknown> {
  // SQLite: CROSS JOIN keeps the JSON rows outside, each test found by its unique index; the
  // planner otherwise walks every test of the agent once per row (seconds at 5,000 results).
  const join = ctx.hooks.dialect === 'sqlite' ? sql`CROSS JOIN` : sql`JOIN`;
  return sql`${join} tests t ON t.agent_id = ${agentId} AND t.suite = ${jsonCol(ctx, 0, 'text')} AND t.name = ${jsonCol(ctx, 1, 'text')}`;
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
  const rows = results.map((r) =>
    withoutTrailingNulls([
      r.suite,
      r.name,
      statusCode(r.status),
      r.durationMs,
      r.attempts === 1 ? null : r.attempts,
      r.message,
      r.score?.points_awarded ?? null,
      r.score?.max_points ?? null,
      r.criteria === null ? null : JSON.stringify(r.criteria),
    ]),
  );
  const json = jsonRows(ctx, rows);
  if (runKey.count > 0) {
    const twice = await sql<{ suite: string; name: string }>`SELECT t.suite, t.name FROM ${json}
      ${joinTests(ctx, run.agentId)}
      JOIN test_results r ON r.run_key = ${runKey.key} AND r.test_id = t.id LIMIT 1`.execute(trx);
    const dup = twice.rows[0];
    if (dup) {
      throw new ResultsRejectedError(
        `the run already has a result for test ${JSON.stringify(testLabel(dup.suite, dup.name))}`,
        'invalid',
        { field: 'results', name: dup.name, suite: dup.suite === '' ? null : dup.suite },
      );
    }
  }
  const insert = () =>
    sql`INSERT INTO test_results
      (run_key, test_id, status, change, duration_ms, attempts, message, score_awarded, score_max, criteria)
    SELECT ${runKey.key}, t.id, ${jsonCol(ctx, 2, 'int')}, 0, ${jsonCol(ctx, 3, 'int')},
      ${jsonCol(ctx, 4, 'int')}, ${jsonCol(ctx, 5, 'text')}, ${jsonCol(ctx, 6, 'real')}, ${jsonCol(ctx, 7, 'real')},
      ${jsonCol(ctx, 8, 'text')}
    FROM ${json} ${joinTests(ctx, run.agentId)}`.execute(trx);
  // After an agent's first runs nearly every test is known: the results go in first, each finding
  // its test. Only when some test is not found are they taken back, the new tests made and the
  // results inserted again, in the order they were sent.
  await sql`SAVEPOINT results`.execute(trx);
  const found = await insert();
  if (Number(found.numAffectedRows ?? 0) < results.length) {
    await sql`ROLLBACK TO SAVEPOINT results`.execute(trx);
    await upsertTests(ctx, trx, run, results, now);
    await insert();
  }
  await sql`RELEASE SAVEPOINT results`.execute(trx);
  await trx.updateTable('result_runs').set({ result_count: total }).where('key', '=', runKey.key).execute();
  return { key: runKey.key, total };
}

/**
 * The row without its trailing nulls: an element past the end reads as NULL all the same, and a
 * passing result's row is then a third of the JSON to write, copy to the database and parse.
 */
function withoutTrailingNulls(row: unknown[]): unknown[] {
  let end = row.length;
  while (end > 0 && row[end - 1] === null) end -= 1;
  return end === row.length ? row : row.slice(0, end);
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
    // The run's counts come from its results, also while it is open: a client polling the run sees
    // them grow. A planned total smaller than what ran grows with them (docs/api.md#scenario-results).
    const c = countResults(results);
    if (c.total > 0) {
      const ran = sql<number>`passed_count + failed_count + error_count + ${c.total}`;
      await trx
        .updateTable('test_runs')
        .set({
          passed_count: sql`passed_count + ${c.passed}`,
          failed_count: sql`failed_count + ${c.failed}`,
          error_count: sql`error_count + ${c.error}`,
          total_scenarios: sql`CASE WHEN total_scenarios < ${ran} THEN ${ran} ELSE total_scenarios END`,
          updated_at: now,
        })
        .where('id', '=', runId)
        .execute();
    }
    const out = { accepted: results.length, total };
    // A CI step that died after this commit gets this answer again, not a 400 for its tests.
    await keepAnswerIn(trx, answer, out);
    return out;
  });
}

/** A run's stored results in the order they were sent, for the comparison at finish. */
export async function readRunResults(trx: Db, runKey: number): Promise<ScenarioResult[]> {
  const rows = await trx
    .selectFrom('test_results as r')
    .innerJoin('tests as t', 't.id', 'r.test_id')
    .select(['t.suite', 't.name', 'r.status', 'r.attempts', 'r.message', 'r.score_awarded', 'r.score_max'])
    .where('r.run_key', '=', runKey)
    .orderBy('r.id')
    .execute();
  return rows.map((r) => {
    const awarded = numOrNull(r.score_awarded);
    const max = numOrNull(r.score_max);
    return {
      suite: r.suite,
      name: r.name,
      status: RESULT_STATUSES[num(r.status)] ?? 'passed',
      durationMs: null,
      attempts: numOrNull(r.attempts) ?? 1,
      message: r.message,
      score: awarded === null || max === null ? null : { points_awarded: awarded, max_points: max },
      criteria: null,
    };
  });
}

/** The baseline's side of the comparison: each of its results' test and status. */
export async function readResultStatuses(
  trx: Db,
  runKey: number,
): Promise<{ testId: number; status: ResultStatus }[]> {
  const rows = await trx
    .selectFrom('test_results')
    .select(['test_id', 'status'])
    .where('run_key', '=', runKey)
    .execute();
  return rows.map((r) => ({ testId: num(r.test_id), status: RESULT_STATUSES[num(r.status)] ?? 'passed' }));
}

/** A test of the run, its `recent` outcomes with this run's first, and its state before the run. */
export interface TestHistory {
  id: number;
  suite: string;
  name: string;
  recent: string;
  state: TestState;
}

/** A test whose state this run changed (failing, flaky, passing). */
export interface TestStateChange {
  testId: number;
  suite: string;
  name: string;
  from: TestState;
  to: TestState;
}

/** A test as the history UPDATE leaves it: `recent` moved on, `state` as before the run. */
interface MovedTest {
  id: number | string;
  suite: string;
  name: string;
  recent: string;
  state: string;
}

/** SQL for the outcome character of a stored result `r` (`outcomeChar`, the one rule). */
function outcomeCharSql(): string {
  const cases = RESULT_STATUSES.map((s, code) =>
    s === 'passed'
      ? `WHEN ${code} THEN CASE WHEN r.attempts > 1 THEN '${outcomeChar(s, 2)}' ELSE '${outcomeChar(s, 1)}' END`
      : `WHEN ${code} THEN '${outcomeChar(s, 1)}'`,
  );
  return `CASE r.status ${cases.join(' ')} END`;
}

const statusTextSql = () =>
  `CASE r.status ${RESULT_STATUSES.map((s, code) => `WHEN ${code} THEN '${s}'`).join(' ')} END`;

/**
 * Moves each test of a finished run's results on by this run's outcome: `recent` (newest first,
 * capped), last status, time and failure message, in one statement that answers each test's new
 * `recent` and its state until now. Then the state transition: `testState` of the new history,
 * written where it differs. Returns the run's tests and the transitions (docs/architecture.md#results).
 */
export async function advanceTestHistory(
  ctx: Ctx,
  trx: Db,
  runKey: number,
  finishedAt: number,
): Promise<{ tests: TestHistory[]; stateChanges: TestStateChange[] }> {
  const failing = RESULT_STATUSES.flatMap((s, code) => (s === 'failed' || s === 'error' ? [code] : []));
  // SQLite: RETURNING keeps every returned row aside until the UPDATE ends, which costs more than
  // the UPDATE itself at 5,000 rows; the same rows read back after it by the run's index cost half.
  const sqlite = ctx.hooks.dialect === 'sqlite';
  const returning = sql.raw(
    sqlite ? '' : 'RETURNING tests.id, tests.suite, tests.name, tests.recent, tests.state',
  );
  const update = await sql<MovedTest>`
    UPDATE tests SET
      recent = substr(${sql.raw(outcomeCharSql())} || tests.recent, 1, ${RECENT_LENGTH}),
      last_status = ${sql.raw(statusTextSql())},
      last_run_at = ${finishedAt},
      last_failure_message = CASE WHEN r.status IN (${sql.raw(failing.join(', '))}) THEN COALESCE(r.message, '')
                                  ELSE tests.last_failure_message END
    FROM test_results r
    WHERE r.run_key = ${runKey} AND tests.id = r.test_id
    ${returning}`.execute(trx);
  const moved = sqlite
    ? await sql<MovedTest>`SELECT t.id, t.suite, t.name, t.recent, t.state
        FROM test_results r JOIN tests t ON t.id = r.test_id WHERE r.run_key = ${runKey}`.execute(trx)
    : update;
  const tests = moved.rows.map((r) => ({
    id: num(r.id),
    suite: r.suite,
    name: r.name,
    recent: r.recent,
    state: r.state as TestState,
  }));
  const stateChanges = stateTransitions(tests);
  if (stateChanges.length > 0) {
    await sql`UPDATE tests SET state = ${jsonCol(ctx, 1, 'text')}
      FROM ${jsonRows(
        ctx,
        stateChanges.map((c) => [c.testId, c.to]),
      )} WHERE tests.id = ${jsonCol(ctx, 0, 'int')}`.execute(trx);
  }
  return { tests, stateChanges };
}

/** The tests whose state their new history changes: what the run moved from failing, flaky or passing. */
export function stateTransitions(tests: readonly TestHistory[]): TestStateChange[] {
  const out: TestStateChange[] = [];
  for (const t of tests) {
    const to = testState(t.recent);
    if (to !== t.state) out.push({ testId: t.id, suite: t.suite, name: t.name, from: t.state, to });
  }
  return out;
}

/** After the comparison: each result's change code, only those not `unchanged` (test id, change). */
export async function writeChangeCodes(
  ctx: Ctx,
  trx: Db,
  runKey: number,
  changed: readonly (readonly [number, ResultChange])[],
): Promise<void> {
  // One statement per code, its rows found by the run's index and looked up in the list's IN set
  // (built once): an UPDATE … FROM the JSON rows, or a code looked up per row in the list, reads
  // the whole list again for each row on SQLite (seconds for a first run, all of it `new`).
  const byCode = new Map<number, number[][]>();
  for (const [id, c] of changed) {
    const code = changeCode(c);
    const ids = byCode.get(code);
    if (ids) ids.push([id]);
    else byCode.set(code, [[id]]);
  }
  for (const [code, ids] of byCode) {
    await sql`UPDATE test_results SET change = ${code}
      WHERE test_results.run_key = ${runKey}
        AND test_results.test_id IN (SELECT ${jsonCol(ctx, 0, 'int')} FROM ${jsonRows(ctx, ids)})`.execute(
      trx,
    );
  }
}
