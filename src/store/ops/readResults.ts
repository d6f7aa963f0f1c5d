/**
 * Reading scenario results (docs/api.md#scenario-results): a run's, one, a run's summary, an
 * agent's tests and a test's history. Written by scenarioResults.ts.
 */
import { sql } from 'kysely';
import { charStatus } from '../../domain/changes.js';
import { type Criterion, RESULT_CHANGES, RESULT_STATUSES } from '../../domain/results.js';
import { formatRunId } from '../../domain/runMath.js';
import type { RunStatus } from '../../domain/types.js';
import type { AgentTest, Page, Paged, ScenarioRunFilter, StoredResult } from '../store.js';
import type { Ctx, Db } from './context.js';
import { num, numOrNull } from './mappers.js';
import { changeCode, statusCode } from './scenarioResults.js';

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
    testRunId: formatRunId(num(r.seq)),
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
  agentId: string,
  testId: string,
  page: Page,
): Promise<Paged<StoredResult>> {
  // Through the agent's runs, newest first, and each run's result of this test by the index of
  // results by run: results have no index by test (migration 0016_results_without_test_index).
  const base = db
    .selectFrom('test_runs as run')
    .innerJoin('result_runs as rr', 'rr.run_id', 'run.id')
    .innerJoin('test_results as r', (join) =>
      join.onRef('r.run_key', '=', 'rr.key').on('r.test_id', '=', Number(testId)),
    )
    .innerJoin('tests as t', 't.id', 'r.test_id')
    .where('run.org_id', '=', orgId)
    .where('run.agent_id', '=', agentId);
  const [rows, count] = await Promise.all([
    base.select(resultColumns).orderBy('run.seq', 'desc').limit(page.limit).offset(page.offset).execute(),
    base.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map((r) => toStoredResult(r as ResultRow)), total: num(count.n) };
}
