/**
 * Scenario results (docs/architecture.md#results): stored per run in bulk (one statement per step,
 * the rows as one JSON array parameter), and read back per run and per test. What changed since
 * the baseline is decided in compareWithBaseline.ts.
 */
import { type RawBuilder, sql } from 'kysely';
import { charStatus, outcomeChar, pushOutcome, testState } from '../../domain/changes.js';
import {
  type Criterion,
  RESULT_CHANGES,
  RESULT_STATUSES,
  type ResultChange,
  type ResultStatus,
  type ScenarioResult,
  testKey,
  testLabel,
} from '../../domain/results.js';
import { RUN_STATUS, type RunStatus } from '../../domain/types.js';
import {
  type AgentTest,
  InvalidStateError,
  type Page,
  type Paged,
  ResultsRejectedError,
  type ScenarioRunFilter,
  type StoredResult,
} from '../store.js';
import type { Ctx, Db } from './context.js';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

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
  const found = await sql<{ id: number | string; suite: string; name: string; recent: string }>`
    SELECT t.id, t.suite, t.name, t.recent FROM ${rows}
    JOIN tests t ON t.agent_id = ${scope.agentId} AND t.suite = ${jsonCol(ctx, 0, 'text')} AND t.name = ${jsonCol(ctx, 1, 'text')}
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
    return { accepted: results.length, total };
  });
}

/** A run's stored results with their tests, for the comparison at finish. */
export interface RunResultRow {
  id: number;
  testId: number;
  suite: string;
  name: string;
  recent: string;
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
    status: RESULT_STATUSES[num(r.status)] ?? 'passed',
    attempts: numOrNull(r.attempts) ?? 1,
    message: r.message,
    scoreAwarded: numOrNull(r.score_awarded),
    scoreMax: numOrNull(r.score_max),
  }));
}

/**
 * After the comparison: each result's change code (only those not `unchanged`), and each test's
 * recent outcomes and state.
 */
export async function writeComparison(
  ctx: Ctx,
  trx: Db,
  rows: readonly RunResultRow[],
  perResult: ReadonlyMap<string, ResultChange>,
  finishedAt: number,
): Promise<void> {
  if (rows.length === 0) return;
  const changed = rows.flatMap((r) => {
    const c = perResult.get(testKey(r.suite, r.name)) ?? 'unchanged';
    return c === 'unchanged' ? [] : [[r.id, changeCode(c)]];
  });
  if (changed.length > 0) {
    await sql`UPDATE test_results SET change = ${jsonCol(ctx, 1, 'int')}
      FROM ${jsonRows(ctx, changed)} WHERE test_results.id = ${jsonCol(ctx, 0, 'int')}`.execute(trx);
  }
  const tests = rows.map((r) => {
    const recent = pushOutcome(r.recent, outcomeChar(r.status, r.attempts));
    const failing = r.status === 'failed' || r.status === 'error';
    return [r.testId, recent, testState(recent), r.status, failing ? (r.message ?? '') : null];
  });
  await sql`UPDATE tests SET recent = ${jsonCol(ctx, 1, 'text')}, state = ${jsonCol(ctx, 2, 'text')},
      last_status = ${jsonCol(ctx, 3, 'text')}, last_run_at = ${finishedAt},
      last_failure_message = CASE WHEN ${jsonCol(ctx, 4, 'text')} IS NULL THEN tests.last_failure_message
                                  ELSE ${jsonCol(ctx, 4, 'text')} END
    FROM ${jsonRows(ctx, tests)} WHERE tests.id = ${jsonCol(ctx, 0, 'int')}`.execute(trx);
}

// ---- reading

const resultColumns = [
  'r.id',
  'r.test_id',
  'r.status',
  'r.change',
  'r.duration_ms',
  'r.attempts',
  'r.message',
  'r.score_awarded',
  'r.score_max',
  'r.criteria',
  't.suite',
  't.name',
  'run.id as run_id',
  'run.seq',
  'run.status as run_status',
  'run.created_at',
  'run.completed_at',
] as const;

function baseResults(db: Db) {
  return db
    .selectFrom('test_results as r')
    .innerJoin('tests as t', 't.id', 'r.test_id')
    .innerJoin('result_runs as rr', 'rr.key', 'r.run_key')
    .innerJoin('test_runs as run', 'run.id', 'rr.run_id');
}

type ResultRow = {
  id: number | string;
  test_id: number | string;
  status: number | string;
  change: number | string;
  duration_ms: number | string | null;
  attempts: number | string | null;
  message: string | null;
  score_awarded: number | string | null;
  score_max: number | string | null;
  criteria: string | null;
  suite: string;
  name: string;
  run_id: string;
  seq: number | string;
  run_status: string;
  created_at: number | string;
  completed_at: number | string | null;
};

function toStoredResult(r: ResultRow): StoredResult {
  const awarded = numOrNull(r.score_awarded);
  const max = numOrNull(r.score_max);
  const final = r.run_status === 'completed' || r.run_status === 'failed' || r.run_status === 'canceled';
  return {
    id: String(r.id),
    runId: r.run_id,
    testRunId: `TR-${String(num(r.seq)).padStart(5, '0')}`,
    runStatus: r.run_status as RunStatus,
    testId: String(r.test_id),
    name: r.name,
    suite: r.suite,
    status: RESULT_STATUSES[num(r.status)] ?? 'passed',
    // Before the run is final nothing is compared yet.
    change: final ? (RESULT_CHANGES[num(r.change)] ?? 'unchanged') : 'unchanged',
    durationMs: numOrNull(r.duration_ms),
    message: r.message,
    attempts: numOrNull(r.attempts) ?? 1,
    score: awarded === null || max === null ? null : { points_awarded: awarded, max_points: max },
    criteria: r.criteria === null ? null : (JSON.parse(r.criteria) as Criterion[]),
    createdAt: num(r.created_at),
    completedAt: numOrNull(r.completed_at),
  };
}

/** `%text%` for LIKE, lower case, with its own `\`, `%` and `_` escaped. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listScenarioRuns(
  { db }: Ctx,
  orgId: string,
  runId: string,
  filter: ScenarioRunFilter,
  page: Page,
): Promise<Paged<StoredResult>> {
  let base = baseResults(db).where('run.org_id', '=', orgId).where('rr.run_id', '=', runId);
  if (filter.status) base = base.where('r.status', '=', statusCode(filter.status));
  if (filter.passed === true) base = base.where('r.status', '=', statusCode('passed'));
  if (filter.passed === false)
    base = base.where('r.status', 'in', [statusCode('failed'), statusCode('error')]);
  if (filter.change) {
    const code = changeCode(filter.change);
    base = base.where('r.change', '=', code);
  }
  if (filter.q) {
    const like = likePattern(filter.q);
    base = base.where((eb) =>
      eb.or([
        eb(sql`lower(t.name)`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`lower(t.suite)`, 'like', sql`${like} ESCAPE '\\'`),
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    base
      .select(resultColumns)
      .orderBy('r.status')
      .orderBy('r.id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map((r) => toStoredResult(r as ResultRow)), total: num(count.n) };
}

export async function getScenarioRun({ db }: Ctx, orgId: string, id: string): Promise<StoredResult | null> {
  if (!/^\d{1,15}$/.test(id)) return null;
  const row = await baseResults(db)
    .select(resultColumns)
    .where('run.org_id', '=', orgId)
    .where('r.id', '=', Number(id))
    .executeTakeFirst();
  return row ? toStoredResult(row as ResultRow) : null;
}

export async function summarizeResults({ db }: Ctx, orgId: string, runId: string) {
  const rows = await baseResults(db)
    .select(['r.status', 'r.change', sql<number>`count(*)`.as('n')])
    .where('run.org_id', '=', orgId)
    .where('rr.run_id', '=', runId)
    .groupBy(['r.status', 'r.change'])
    .execute();
  const out = { passed: 0, failed: 0, error: 0, skipped: 0, flaky: 0 };
  for (const r of rows) {
    const status = RESULT_STATUSES[num(r.status)] ?? 'passed';
    out[status] += num(r.n);
    if (RESULT_CHANGES[num(r.change)] === 'flaky') out.flaky += num(r.n);
  }
  return out;
}

function toAgentTest(r: {
  id: number | string;
  name: string;
  suite: string;
  recent: string;
  state: string;
  last_status: string | null;
  last_run_at: number | string | null;
  last_failure_message: string | null;
}): AgentTest {
  return {
    id: String(r.id),
    name: r.name,
    suite: r.suite,
    recent: r.recent,
    state: r.state,
    lastStatus: r.recent === '' ? null : charStatus(r.recent[0] ?? 'P'),
    lastRunAt: numOrNull(r.last_run_at),
    lastFailureMessage: r.last_failure_message,
  };
}

export async function listAgentTests(
  { db }: Ctx,
  orgId: string,
  agentId: string,
  filter: { state?: 'failing' | 'flaky' | 'passing'; q?: string },
  page: Page,
): Promise<Paged<AgentTest>> {
  // Tests appear once their first run has finished.
  let base = db
    .selectFrom('tests')
    .where('org_id', '=', orgId)
    .where('agent_id', '=', agentId)
    .where('recent', '!=', '');
  if (filter.state) base = base.where('state', '=', filter.state);
  if (filter.q) {
    const like = likePattern(filter.q);
    base = base.where((eb) =>
      eb.or([
        eb(sql`lower(name)`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`lower(suite)`, 'like', sql`${like} ESCAPE '\\'`),
      ]),
    );
  }
  // Failing first, then flaky, then passing; within each, the latest run first.
  const rank = sql`CASE state WHEN 'failing' THEN 0 WHEN 'flaky' THEN 1 ELSE 2 END`;
  const [rows, count] = await Promise.all([
    base
      .select([
        'id',
        'name',
        'suite',
        'recent',
        'state',
        'last_status',
        'last_run_at',
        'last_failure_message',
      ])
      .orderBy(rank)
      .orderBy('last_run_at', 'desc')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toAgentTest), total: num(count.n) };
}

export async function getAgentTest(
  { db }: Ctx,
  orgId: string,
  agentId: string,
  testId: string,
): Promise<AgentTest | null> {
  if (!/^\d{1,15}$/.test(testId)) return null;
  const row = await db
    .selectFrom('tests')
    .select(['id', 'name', 'suite', 'recent', 'state', 'last_status', 'last_run_at', 'last_failure_message'])
    .where('org_id', '=', orgId)
    .where('agent_id', '=', agentId)
    .where('id', '=', Number(testId))
    .executeTakeFirst();
  return row ? toAgentTest(row) : null;
}

export async function testHistory(
  { db }: Ctx,
  orgId: string,
  testId: string,
  page: Page,
): Promise<Paged<StoredResult>> {
  const base = baseResults(db).where('run.org_id', '=', orgId).where('r.test_id', '=', Number(testId));
  const [rows, count] = await Promise.all([
    base.select(resultColumns).orderBy('r.run_key', 'desc').limit(page.limit).offset(page.offset).execute(),
    base.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map((r) => toStoredResult(r as ResultRow)), total: num(count.n) };
}
