/**
 * Test runs: a new run (pending or running), reading one, listing them, and the row every new run
 * is written as. A run's finish is finishRun.ts; a finished run written at once, finishedRunAtOnce.ts.
 *
 * Used by other ops: `agentOf` and `insertRun` (finishRun.ts), `runRow` (finishedRunAtOnce.ts).
 */
import { randomUUID } from 'node:crypto';
import { testRunStartedPayload } from '../../domain/eventPayloads.js';
import { formatRunId } from '../../domain/runMath.js';
import { RUN_STATUS, type RunStatus, type TestRun } from '../../domain/types.js';
import {
  AgentMissingError,
  type IdempotentAnswer,
  type Page,
  type Paged,
  type RunFinish,
  type RunInput,
} from '../store.js';
import { type Ctx, countAll, type Db, readPage } from './context.js';
import { emitEvents } from './emitEvents.js';
import { keepAnswerIn } from './idempotency.js';
import { toRun } from './mappers.js';
import { joinRunGroup } from './runGroups.js';

/** Takes the org's next run number under the row lock of its organization: no gaps, no duplicates. */
async function nextRunSeq(trx: Db, orgId: string): Promise<number> {
  const row = await trx
    .updateTable('organizations')
    .set((eb) => ({ run_seq: eb('run_seq', '+', 1) }))
    .where('id', '=', orgId)
    .returning('run_seq')
    .executeTakeFirstOrThrow();
  return Number(row.run_seq);
}

export async function agentOf(
  trx: Db,
  orgId: string,
  agentId: string,
): Promise<{ id: string; name: string }> {
  const agent = await trx
    .selectFrom('agents')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('id', '=', agentId)
    .executeTakeFirst();
  if (!agent) throw new AgentMissingError('agent not found');
  return agent;
}

export async function insertRun(
  trx: Db,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  status: RunStatus,
  finish: RunFinish | null,
  now: number,
  known?: { id: string; agent: { id: string; name: string } },
): Promise<TestRun> {
  const agent = known?.agent ?? (await agentOf(trx, orgId, input.agentId));
  const seq = await nextRunSeq(trx, orgId);
  const row = await trx
    .insertInto('test_runs')
    .values(runRow(known?.id ?? randomUUID(), orgId, seq, agent, input, status, finish, now))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRun(row);
}

export function runRow<Seq>(
  id: string,
  orgId: string,
  seq: Seq,
  agent: { id: string; name: string },
  input: Omit<RunInput, 'status'>,
  status: RunStatus,
  finish: RunFinish | null,
  now: number,
) {
  return {
    id,
    org_id: orgId,
    seq,
    name: input.name,
    agent_id: agent.id,
    agent_name: agent.name,
    status,
    passed_count: finish?.passedCount ?? 0,
    failed_count: finish?.failedCount ?? 0,
    error_count: finish?.errorCount ?? 0,
    total_scenarios: finish?.totalScenarios ?? input.totalScenarios,
    started_at: input.startedAt ?? now,
    completed_at: finish?.completedAt ?? null,
    created_at: now,
    updated_at: now,
    failures: JSON.stringify(finish?.failures ?? input.failures ?? []),
    test_suite_id: input.testSuiteId ?? null,
    test_mode: input.testMode ?? null,
    max_scenarios: input.maxScenarios ?? null,
    max_turns: input.maxTurns ?? null,
    baseline_run_id: finish?.baselineRunId ?? input.baselineRunId ?? null,
    changes: null as string | null,
    score: null as number | null,
    group_name: input.group ?? null,
    group_size: input.groupSize ?? null,
  };
}

export async function createRun(
  ctx: Ctx,
  orgId: string,
  input: RunInput,
  publicUrl: string,
  now: number,
  answer?: IdempotentAnswer<TestRun>,
): Promise<TestRun> {
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertRun(trx, orgId, input, input.status, null, now);
    await joinRunGroup(trx, created, now);
    // A run created `running` has started: its event is written with it (docs/delivery.md#event-types).
    if (created.status === RUN_STATUS.running) {
      const payload = testRunStartedPayload(
        { ...created, testRunId: formatRunId(created.seq) },
        now,
        publicUrl,
      );
      queued = await emitEvents(
        trx,
        [{ orgId, agentId: created.agentId, testRunId: created.id, payload }],
        now,
      );
    }
    await keepAnswerIn(trx, answer, created);
    return created;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}

export async function getRun({ db }: Ctx, orgId: string, id: string): Promise<TestRun | null> {
  const row = await db
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toRun(row) : null;
}

export async function getRunBySeq({ db }: Ctx, orgId: string, seq: number): Promise<TestRun | null> {
  const row = await db
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('seq', '=', seq)
    .executeTakeFirst();
  return row ? toRun(row) : null;
}

export async function listRuns(
  { db }: Ctx,
  orgId: string,
  filter: { status?: RunStatus; agentId?: string },
  page: Page,
): Promise<Paged<TestRun>> {
  let base = db.selectFrom('test_runs').where('org_id', '=', orgId);
  if (filter.status) base = base.where('status', '=', filter.status);
  if (filter.agentId) base = base.where('agent_id', '=', filter.agentId);
  return readPage(
    base.selectAll().orderBy('seq', 'desc').limit(page.limit).offset(page.offset),
    base.select(countAll),
    toRun,
  );
}
