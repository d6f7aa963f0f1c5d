import { randomUUID } from 'node:crypto';
import { renderEvent, standardPayload } from '../../domain/payloads.js';
import { effectiveTotal, passRate } from '../../domain/runMath.js';
import { resolveWebhook } from '../../domain/scoping.js';
import {
  ATTEMPT_TRIGGER,
  DELIVERY_STATUS,
  type FinalRunStatus,
  RUN_STATUS,
  type RunStatus,
  type TestRun,
} from '../../domain/types.js';
import { filterMatches, type WebhookFilter } from '../../domain/webhookFilter.js';
import {
  AgentMissingError,
  InvalidStateError,
  type Page,
  type Paged,
  type RunFinish,
  type RunInput,
} from '../store.js';
import { type Ctx, countAll, type Db, readPage } from './context.js';
import { toRun, toWebhook } from './mappers.js';
import { newDeliveryRow } from './newRows.js';

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

async function insertRun(
  trx: Db,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  status: RunStatus,
  finish: RunFinish | null,
  now: number,
): Promise<TestRun> {
  const agent = await trx
    .selectFrom('agents')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('id', '=', input.agentId)
    .executeTakeFirst();
  if (!agent) throw new AgentMissingError('agent not found');
  const seq = await nextRunSeq(trx, orgId);
  const row = await trx
    .insertInto('test_runs')
    .values({
      id: randomUUID(),
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
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRun(row);
}

/**
 * Stores the run's event and, when a webhook applies, its delivery (pending, or failed at once for a
 * webhook the system turned off). Same transaction as the run. True when there is something to send.
 */
async function insertEvent(trx: Db, run: TestRun, publicUrl: string, now: number): Promise<boolean> {
  const rows = await trx
    .selectFrom('webhooks')
    .selectAll()
    .where('org_id', '=', run.orgId)
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('agent_id', '=', run.agentId), eb('agent_id', 'is', null)]))
    .execute();
  const hooks = rows.map(toWebhook);
  const route = resolveWebhook(
    hooks.find((w) => w.agentId === run.agentId) ?? null,
    hooks.find((w) => w.agentId === null) ?? null,
  );
  const eventId = randomUUID();
  const rendered = renderEvent(standardPayload(run, now, publicUrl), now);
  await trx
    .insertInto('events')
    .values({
      id: eventId,
      org_id: run.orgId,
      type: 'test_run_completed',
      test_run_id: run.id,
      payload: rendered.payload,
      created_at: now,
    })
    .execute();
  if (route.kind === 'none') return false;
  const { webhook } = route;
  // A webhook whose filter leaves the run out means no delivery at all: no fallback to the org's.
  if (!runPassesFilter(webhook.filter, run)) return false;
  // A webhook the system turned off gets the delivery too, failed at once and never sent: the
  // history shows what was missed, and recover resends it once the endpoint is back.
  const blocked = route.kind === 'blocked';
  await trx
    .insertInto('deliveries')
    .values(
      newDeliveryRow({
        id: randomUUID(),
        orgId: run.orgId,
        eventId,
        webhookId: webhook.id,
        body: rendered.body(webhook.format),
        kind: 'event',
        status: blocked ? DELIVERY_STATUS.failed : DELIVERY_STATUS.pending,
        nextAttemptAt: blocked ? null : now,
        nextTrigger: ATTEMPT_TRIGGER.scheduled,
        finalAttempt: false,
        lease: null,
        testRunId: run.id,
        failureReason: blocked ? 'webhook_disabled' : null,
        now,
      }),
    )
    .execute();
  return !blocked;
}

function runPassesFilter(filter: WebhookFilter | null, run: TestRun): boolean {
  const total = effectiveTotal(run.passedCount, run.failedCount, run.errorCount, run.totalScenarios);
  return filterMatches(filter, run.status as FinalRunStatus, passRate(run.passedCount, total));
}

export async function createRun(ctx: Ctx, orgId: string, input: RunInput, now: number): Promise<TestRun> {
  return ctx.db.transaction().execute((trx) => insertRun(trx, orgId, input, input.status, null, now));
}

export async function createFinishedRun(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
): Promise<TestRun> {
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertRun(trx, orgId, input, finish.status, finish, now);
    queued = await insertEvent(trx, created, publicUrl, now);
    return created;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}

export async function finishRun(
  ctx: Ctx,
  orgId: string,
  id: string,
  finish: RunFinish,
  publicUrl: string,
  now: number,
): Promise<TestRun> {
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    // The status guard makes the transition atomic: of two concurrent finishes, one updates a row.
    const row = await trx
      .updateTable('test_runs')
      .set((eb) => ({
        status: finish.status,
        passed_count: finish.passedCount,
        failed_count: finish.failedCount,
        error_count: finish.errorCount,
        total_scenarios: finish.totalScenarios ?? eb.ref('total_scenarios'),
        completed_at: finish.completedAt,
        ...(finish.failures !== undefined && { failures: JSON.stringify(finish.failures) }),
        updated_at: now,
      }))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('status', 'in', [RUN_STATUS.pending, RUN_STATUS.running])
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new InvalidStateError('the test run has already finished');
    const finished = toRun(row);
    queued = await insertEvent(trx, finished, publicUrl, now);
    return finished;
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
