import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { renderEvent, standardPayload } from '../../domain/payloads.js';
import { effectiveTotal, formatRunId, passRate } from '../../domain/runMath.js';
import { type Route, resolveWebhook } from '../../domain/scoping.js';
import {
  ATTEMPT_TRIGGER,
  DELIVERY_STATUS,
  type FinalRunStatus,
  RUN_STATUS,
  type RunStatus,
  type TestRun,
  type Webhook,
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
import { type Ctx, countAll, type Db, type GuardedStatement, readPage } from './context.js';
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
    .values(runRow(randomUUID(), orgId, seq, agent, input, status, finish, now))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRun(row);
}

function runRow<Seq>(
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
  };
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
  const out = eventRows(run, routeOf(rows.map(toWebhook), run.agentId), publicUrl, now);
  await trx.insertInto('events').values(out.event).execute();
  if (out.delivery) await trx.insertInto('deliveries').values(out.delivery).execute();
  return out.queued;
}

/**
 * A finished run's event row and, when its route sends it, its delivery row (pending, or failed
 * at once for a webhook the system turned off); `queued` when there is something to send. One
 * reading for the interactive path and the one-unit path.
 */
function eventRows(run: TestRun, route: Route<Webhook>, publicUrl: string, now: number) {
  const rendered = renderEvent(standardPayload(run, now, publicUrl), now);
  const event = {
    id: randomUUID(),
    org_id: run.orgId,
    type: 'test_run_completed' as const,
    test_run_id: run.id,
    payload: rendered.payload,
    created_at: now,
  };
  if (route.kind === 'none') return { event, delivery: null, queued: false };
  const { webhook } = route;
  // A webhook whose filter leaves the run out means no delivery at all: no fallback to the org's.
  if (!runPassesFilter(webhook.filter, run)) return { event, delivery: null, queued: false };
  // A webhook the system turned off gets the delivery too, failed at once and never sent: the
  // history shows what was missed, and recover resends it once the endpoint is back.
  const blocked = route.kind === 'blocked';
  const delivery = newDeliveryRow({
    id: randomUUID(),
    orgId: run.orgId,
    eventId: event.id,
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
  });
  return { event, delivery, queued: !blocked };
}

function routeOf(hooks: Webhook[], agentId: string): Route<Webhook> {
  return resolveWebhook(
    hooks.find((w) => w.agentId === agentId) ?? null,
    hooks.find((w) => w.agentId === null) ?? null,
  );
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
  const fast = ctx.hooks.runUnit
    ? await createFinishedRunAsUnit(ctx, orgId, input, finish, publicUrl, now)
    : null;
  if (fast) {
    if (fast.queued) await ctx.hooks.notifyNewWork();
    return fast.run;
  }
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertRun(trx, orgId, input, finish.status, finish, now);
    queued = await insertEvent(trx, created, publicUrl, now);
    return created;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}

/**
 * What createFinishedRunAsUnit read about an agent and the webhooks that may receive its runs. It
 * may be kept a while because it is never trusted: each unit checks it under the write lock and
 * falls back (dropping it) when anything changed, so keeping it only saves the reads.
 */
interface RouteSnapshot {
  agent: { id: string; name: string };
  webhooks: Webhook[];
  state: string | null;
  until: number;
}
const ROUTE_CACHE_MS = 10_000;
const ROUTE_CACHE_MAX = 10_000;
const routeCaches = new WeakMap<object, Map<string, RouteSnapshot>>();

/** The code of a unit that found the agent or the webhooks changed since they were read. */
const STALE = 'RUNHOOK_STALE';

/**
 * The route-relevant state of the webhooks that may receive an agent's runs (docs/delivery.md):
 * which exist, their scope, whether and why they are off, their format and filter.
 */
function webhookStateSql(orgId: string, agentId: string) {
  return sql<string>`(SELECT json_group_array(json_array(id, agent_id, is_enabled, disabled_reason, format, filter))
    FROM (SELECT * FROM webhooks WHERE org_id = ${orgId} AND deleted_at IS NULL
      AND (agent_id = ${agentId} OR agent_id IS NULL) ORDER BY id))`;
}

/**
 * createFinishedRun in one message to the SQLite thread, which joins the next group commit, instead
 * of an interactive transaction of a round trip per statement that holds the connection
 * throughout. The agent and the webhooks are read first (all in the same group, so from one
 * snapshot); the unit then checks, under the write lock, that neither changed since, and takes the
 * run number, stores the run, its event and its delivery in one go. The run number is only known
 * inside the unit: the event and the body are rendered with a placeholder number that SQLite
 * replaces with `TR-<seq>`. Null when the check failed (something changed meanwhile): the caller
 * then takes the interactive path, which decides afresh.
 */
async function createFinishedRunAsUnit(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
): Promise<{ run: TestRun; queued: boolean } | null> {
  const { db } = ctx;
  const runUnit = ctx.hooks.runUnit as NonNullable<Ctx['hooks']['runUnit']>;
  const cache = routeCaches.get(db) ?? new Map<string, RouteSnapshot>();
  routeCaches.set(db, cache);
  const cacheKey = `${orgId}:${input.agentId}`;
  let snapshot = cache.get(cacheKey);
  if (!snapshot || snapshot.until <= Date.now()) {
    cache.delete(cacheKey);
    const [agentRow, hookRows, state] = await Promise.all([
      db
        .selectFrom('agents')
        .select(['id', 'name'])
        .where('org_id', '=', orgId)
        .where('id', '=', input.agentId)
        .executeTakeFirst(),
      db
        .selectFrom('webhooks')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null)
        .where((eb) => eb.or([eb('agent_id', '=', input.agentId), eb('agent_id', 'is', null)]))
        .execute(),
      sql<{ state: string | null }>`SELECT ${webhookStateSql(orgId, input.agentId)} AS state`.execute(db),
    ]);
    // A missing agent is not remembered: it is answered from the database every time.
    if (!agentRow) throw new AgentMissingError('agent not found');
    snapshot = {
      agent: agentRow,
      webhooks: hookRows.map(toWebhook),
      state: state.rows[0]?.state ?? null,
      until: Date.now() + ROUTE_CACHE_MS,
    };
    if (cache.size >= ROUTE_CACHE_MAX) cache.clear();
    cache.set(cacheKey, snapshot);
  }
  const { agent, state } = snapshot;
  const id = randomUUID();
  // A number no run has yet, as the placeholder; one that appears in what the client sent is not used.
  const sent = JSON.stringify([input, finish, agent.name, publicUrl]);
  let placeholder = 0;
  for (let i = 0; i < 5 && (placeholder === 0 || sent.includes(String(placeholder))); i++) {
    // 16 digits, below Number.MAX_SAFE_INTEGER.
    placeholder = 1_000_000_000_000_000 + Math.floor(Math.random() * 8_000_000_000_000_000);
  }
  if (sent.includes(String(placeholder))) return null;
  const draft = toRun({
    ...runRow(id, orgId, placeholder, agent, input, finish.status, finish, now),
    deliveries_expired_at: null,
  });
  const marker = formatRunId(placeholder);
  const runId = sql<string>`(SELECT 'TR-' || printf('%05d', run_seq) FROM organizations WHERE id = ${orgId})`;
  const withRunId = (text: string) => sql<string>`replace(${text}, ${marker}, ${runId})`;

  const rows = eventRows(draft, routeOf(snapshot.webhooks, agent.id), publicUrl, now);
  const statements: GuardedStatement[] = [
    {
      query: sql`SELECT 1 AS ok WHERE ${webhookStateSql(orgId, agent.id)} IS ${state}`.compile(db),
      requireRow: STALE,
    },
    {
      query: db
        .updateTable('organizations')
        .set((eb) => ({ run_seq: eb('run_seq', '+', 1) }))
        .where('id', '=', orgId)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('agents')
              .select('id')
              .where('org_id', '=', orgId)
              .where('id', '=', agent.id)
              .where('name', '=', agent.name),
          ),
        )
        .compile(),
      requireRow: STALE,
    },
    {
      query: db
        .insertInto('test_runs')
        .values(
          runRow(
            id,
            orgId,
            sql<number>`(SELECT run_seq FROM organizations WHERE id = ${orgId})`,
            agent,
            input,
            finish.status,
            finish,
            now,
          ),
        )
        .returningAll()
        .compile(),
    },
    {
      query: db
        .insertInto('events')
        .values({ ...rows.event, payload: withRunId(rows.event.payload) })
        .compile(),
    },
  ];
  if (rows.delivery) {
    statements.push({
      query: db
        .insertInto('deliveries')
        .values({ ...rows.delivery, body: withRunId(rows.delivery.body) })
        .compile(),
    });
  }
  try {
    const results = await runUnit(statements);
    const inserted = results[2]?.rows[0];
    if (!inserted) throw new Error('the new test run was not returned');
    return { run: toRun(inserted as Parameters<typeof toRun>[0]), queued: rows.queued };
  } catch (err) {
    if ((err as { code?: string }).code === STALE) {
      cache.delete(cacheKey);
      return null;
    }
    throw err;
  }
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
