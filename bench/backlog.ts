/**
 * Building a throughput phase's backlog of finished runs, each with its event and its pending
 * delivery, two ways:
 *
 * - `store`: production's path, `store.createFinishedRun`, many at a time (`concurrency` in
 *   flight, spread over the organizations); what `POST /api/v1/runs` does after validation.
 * - `bulk` (the default): the same rows, built by the same domain functions (standardPayload,
 *   renderEvent, newDeliveryRow) and inserted many hundred per statement, a few thousand per
 *   transaction, over a connection of the bench's own. A million runs take a minute or so instead
 *   of the better part of an hour.
 *
 * The bulk rows are checked against production's: the first run of every agent is created through
 * the store, then its stored test run, event and delivery are rebuilt by `backlogRows` from the
 * same inputs and must match column by column. When the store's path changes (a column, the
 * body's place), the check fails and names the column instead of benchmarking something else.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { compareRuns } from '../src/domain/changes.js';
import { timeOrderedUuid } from '../src/domain/ids.js';
import { renderEvent, standardPayload } from '../src/domain/payloads.js';
import { ATTEMPT_TRIGGER, DELIVERY_STATUS, type TestRun } from '../src/domain/types.js';
import { comparedRun } from '../src/store/ops/compareWithBaseline.js';
import { toRun } from '../src/store/ops/mappers.js';
import { newDeliveryRow } from '../src/store/ops/newRows.js';
import type { Database } from '../src/store/schema.js';
import type { Store } from '../src/store/store.js';

export interface BacklogAgent {
  id: string;
  name: string;
  webhookId: string;
}

export interface BacklogOrg {
  id: string;
  agents: BacklogAgent[];
}

/** What one finished run of the bench is: 17 passed, 3 failed, 165 s long, no failures listed. */
export const BENCH_RUN = {
  name: 'Emergency Response Test',
  status: 'completed',
  passedCount: 17,
  failedCount: 3,
  errorCount: 0,
  durationMs: 165_000,
} as const;

/** The domain run of one BENCH_RUN finished at `now`, as the store would read it back. */
export function benchTestRun(
  ids: { id: string; orgId: string; seq: number; agentId: string; agentName: string },
  now: number,
): TestRun {
  return {
    ...ids,
    name: BENCH_RUN.name,
    status: BENCH_RUN.status,
    passedCount: BENCH_RUN.passedCount,
    failedCount: BENCH_RUN.failedCount,
    errorCount: BENCH_RUN.errorCount,
    totalScenarios: null,
    startedAt: now - BENCH_RUN.durationMs,
    completedAt: now,
    createdAt: now,
    failures: [],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
  };
}

/** Production's `createFinishedRun` for the next agent of `org`; its id and creation time. */
export async function createOneRun(
  store: Store,
  org: BacklogOrg & { next: number },
  publicUrl: string,
): Promise<{ id: string; createdAt: number; committedAt: number }> {
  const now = Date.now();
  // Each organization's runs go round its agents, so all webhooks get the same share.
  const agent = org.agents[org.next++ % org.agents.length] as BacklogAgent;
  const run = await store.createFinishedRun(
    org.id,
    { agentId: agent.id, name: BENCH_RUN.name, totalScenarios: null, startedAt: now - BENCH_RUN.durationMs },
    {
      status: BENCH_RUN.status,
      passedCount: BENCH_RUN.passedCount,
      failedCount: BENCH_RUN.failedCount,
      errorCount: BENCH_RUN.errorCount,
      totalScenarios: null,
      completedAt: now,
    },
    publicUrl,
    now,
  );
  // The store answers right after its COMMIT (and, on PostgreSQL, the NOTIFY that follows it).
  return { id: run.id, createdAt: now, committedAt: Date.now() };
}

/** The rows production stores for a finished `run` whose agent has its own standard webhook. */
export function backlogRows(
  run: TestRun,
  ids: { eventId: string; deliveryId: string },
  webhookId: string,
  publicUrl: string,
  now: number,
) {
  const rendered = renderEvent(standardPayload(run, now, publicUrl), now);
  return {
    run: {
      id: run.id,
      org_id: run.orgId,
      seq: run.seq,
      name: run.name,
      agent_id: run.agentId,
      agent_name: run.agentName,
      status: run.status,
      passed_count: run.passedCount,
      failed_count: run.failedCount,
      error_count: run.errorCount,
      total_scenarios: run.totalScenarios,
      started_at: run.startedAt,
      completed_at: run.completedAt,
      created_at: run.createdAt,
      updated_at: now,
      failures: JSON.stringify(run.failures),
      changes: run.changes == null ? null : JSON.stringify(run.changes),
      test_suite_id: run.testSuiteId,
      test_mode: run.testMode,
      max_scenarios: run.maxScenarios,
      max_turns: run.maxTurns,
    },
    event: {
      id: ids.eventId,
      org_id: run.orgId,
      type: 'test_run_completed',
      test_run_id: run.id,
      payload: rendered.payload,
      created_at: now,
    },
    delivery: newDeliveryRow({
      id: ids.deliveryId,
      orgId: run.orgId,
      eventId: ids.eventId,
      webhookId,
      body: rendered.body('standard'),
      kind: 'event',
      status: DELIVERY_STATUS.pending,
      nextAttemptAt: now,
      nextTrigger: ATTEMPT_TRIGGER.scheduled,
      finalAttempt: false,
      lease: null,
      testRunId: run.id,
      agentId: run.agentId,
      failureReason: null,
      now,
    }),
  };
}

const same = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Differences between a stored row and the row the bulk path would write for it, by column. */
function differences(
  table: string,
  stored: Record<string, unknown>,
  built: Record<string, unknown>,
): string[] {
  const out: string[] = [];
  for (const [column, value] of Object.entries(stored)) {
    if (same(value) !== same(built[column])) out.push(`${table}.${column}`);
  }
  for (const column of Object.keys(built))
    if (!(column in stored)) out.push(`${table}.${column} (no such column)`);
  return out;
}

/**
 * Creates one run per agent through the store, then checks that `backlogRows` rebuilds exactly
 * what was stored. Returns the columns that differ (none when the bulk path is production's).
 */
async function referenceRuns(
  store: Store,
  db: Kysely<Database>,
  orgs: readonly BacklogOrg[],
  publicUrl: string,
): Promise<{ created: number; differences: string[] }> {
  let created = 0;
  const diffs = new Set<string>();
  for (const org of orgs) {
    for (const agent of org.agents) {
      const { id } = await createOneRun(store, { ...org, agents: [agent], next: 0 }, publicUrl);
      created++;
      const run = await db.selectFrom('test_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const event = await db
        .selectFrom('events')
        .selectAll()
        .where('test_run_id', '=', id)
        .executeTakeFirstOrThrow();
      const delivery = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('event_id', '=', event.id)
        .executeTakeFirstOrThrow();
      const built = backlogRows(
        toRun(run),
        { eventId: event.id, deliveryId: delivery.id },
        agent.webhookId,
        publicUrl,
        Number(event.created_at),
      );
      for (const d of differences('test_runs', run, built.run)) diffs.add(d);
      for (const d of differences('events', event, built.event)) diffs.add(d);
      for (const d of differences('deliveries', delivery, built.delivery)) diffs.add(d);
    }
  }
  return { created, differences: [...diffs] };
}

/**
 * Runs per INSERT statement: 20 columns × 1,000 rows stays under SQLite's 32,766 and PostgreSQL's
 * 65,535 parameters.
 */
const RUNS_PER_STATEMENT = 1_000;

export interface BacklogResult {
  runs: number;
  seconds: number;
  /** Columns where the bulk path differs from production's (empty when it is the same). */
  differences: string[];
}

/** Where the bulk insert connects: its own connection, in its own process (bench/bulkInsert.ts). */
export type BulkTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * `runs` finished runs, round-robin over the organizations and each organization's agents (as
 * production's producers would make them): the first one per agent through the store (and the
 * bulk path checked against it), the rest inserted in bulk by a child process (bench/bulkInsert.ts),
 * so that its page cache and garbage never count in this process's memory.
 */
export async function buildBacklogBulk(input: {
  store: Store;
  /** A connection of the bench's own to the same database, to read the reference runs back. */
  db: Kysely<Database>;
  target: BulkTarget;
  orgs: readonly BacklogOrg[];
  runs: number;
  publicUrl: string;
}): Promise<BacklogResult> {
  const started = performance.now();
  const reference = await referenceRuns(input.store, input.db, input.orgs, input.publicUrl);
  const rest = Math.max(0, input.runs - reference.created);
  if (rest > 0) {
    const child = fork(new URL('./bulkInsert.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      let done = false;
      child.on('message', (msg: BulkInsertReply) => {
        if (msg.type === 'done') {
          done = true;
          resolve();
        } else reject(new Error(`bulk insert failed: ${msg.message}`));
      });
      child.once('error', reject);
      child.once('exit', (code) => {
        if (!done) reject(new Error(`bulk insert exited with ${code}`));
      });
      child.send({
        target: input.target,
        orgs: input.orgs,
        runs: rest,
        publicUrl: input.publicUrl,
      } satisfies BulkInsertRequest);
    });
  }
  return {
    runs: reference.created + rest,
    seconds: (performance.now() - started) / 1000,
    differences: reference.differences,
  };
}

export interface BulkInsertRequest {
  target: BulkTarget;
  orgs: readonly BacklogOrg[];
  runs: number;
  publicUrl: string;
}

export type BulkInsertReply = { type: 'done' } | { type: 'failed'; message: string };

/**
 * Inserts `runs` finished runs with their events and pending deliveries, `batch` runs per
 * transaction; rows are made one statement's worth at a time, so only that many are ever held.
 * Run numbers continue from each organization's `run_seq`, which is moved on in the same
 * transaction, as `createFinishedRun` does.
 */
export async function insertBulk(input: {
  db: Kysely<Database>;
  orgs: readonly BacklogOrg[];
  runs: number;
  publicUrl: string;
  batch: number;
}): Promise<void> {
  const seq = new Map<string, number>();
  for (const row of await input.db.selectFrom('organizations').select(['id', 'run_seq']).execute()) {
    seq.set(row.id, Number(row.run_seq));
  }
  const agents = input.orgs.flatMap((org, o) =>
    org.agents.map((agent, a) => ({ org, agent, order: a * input.orgs.length + o })),
  );
  agents.sort((x, y) => x.order - y.order);
  // Each run is compared with its agent's run before it, as production does (what changed: the
  // same counts every time, but the baseline's TR id moves on).
  const previous = new Map<string, TestRun>();
  for (const { agent } of agents) {
    const row = await input.db
      .selectFrom('test_runs')
      .selectAll()
      .where('agent_id', '=', agent.id)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row) previous.set(agent.id, toRun(row));
  }
  let turn = 0;
  const nextRows = (now: number) => {
    const { org, agent } = agents[turn++ % agents.length] as (typeof agents)[number];
    const orgSeq = (seq.get(org.id) ?? 0) + 1;
    seq.set(org.id, orgSeq);
    const run = benchTestRun(
      { id: randomUUID(), orgId: org.id, seq: orgSeq, agentId: agent.id, agentName: agent.name },
      now,
    );
    const before = previous.get(agent.id);
    run.changes = compareRuns(comparedRun(run, null), before ? comparedRun(before, null) : null).changes;
    previous.set(agent.id, run);
    return backlogRows(
      run,
      // Time-ordered, as production's (src/store/ops/finishEvents.ts).
      { eventId: timeOrderedUuid(now), deliveryId: timeOrderedUuid(now) },
      agent.webhookId,
      input.publicUrl,
      now,
    );
  };
  let made = 0;
  while (made < input.runs) {
    const n = Math.min(input.batch, input.runs - made);
    const now = Date.now();
    await input.db.transaction().execute(async (trx) => {
      for (let done = 0; done < n; ) {
        const m = Math.min(RUNS_PER_STATEMENT, n - done);
        const rows = Array.from({ length: m }, () => nextRows(now));
        await trx
          .insertInto('test_runs')
          .values(rows.map((r) => r.run))
          .execute();
        await trx
          .insertInto('events')
          .values(rows.map((r) => r.event))
          .execute();
        await trx
          .insertInto('deliveries')
          .values(rows.map((r) => r.delivery))
          .execute();
        done += m;
      }
      for (const org of input.orgs) {
        await trx
          .updateTable('organizations')
          .set({ run_seq: seq.get(org.id) ?? 0 })
          .where('id', '=', org.id)
          .execute();
      }
    });
    made += n;
  }
}

/** `runs` finished runs through `store.createFinishedRun`, `concurrency` in flight. */
export async function buildBacklogThroughStore(input: {
  store: Store;
  orgs: readonly BacklogOrg[];
  runs: number;
  publicUrl: string;
  concurrency: number;
}): Promise<BacklogResult> {
  const started = performance.now();
  const orgs = input.orgs.map((org) => ({ ...org, next: 0 }));
  let made = 0;
  let turn = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, input.concurrency) }, async () => {
      while (made < input.runs) {
        made++;
        await createOneRun(input.store, orgs[turn++ % orgs.length] as (typeof orgs)[number], input.publicUrl);
      }
    }),
  );
  return { runs: input.runs, seconds: (performance.now() - started) / 1000, differences: [] };
}
