import { randomUUID } from 'node:crypto';
import { type CompiledQuery, type RawBuilder, type Selectable, sql } from 'kysely';
import { compareRuns, isNotable } from '../../domain/changes.js';
import { testRunStartedPayload } from '../../domain/eventPayloads.js';
import { timeOrderedUuid } from '../../domain/ids.js';
import { renderEvent, standardPayload } from '../../domain/payloads.js';
import { effectiveTotal, formatRunId, passRate } from '../../domain/runMath.js';
import { resolveWebhooks } from '../../domain/scoping.js';
import {
  DELIVERY_STATUS,
  type FinalRunStatus,
  RUN_STATUS,
  type RunStatus,
  type TestRun,
  type Webhook,
} from '../../domain/types.js';
import { filterMatches, type WebhookFilter } from '../../domain/webhookFilter.js';
import type { TestRunsTable, WebhooksTable } from '../schema.js';
import {
  AgentMissingError,
  type ClaimedDelivery,
  type IdempotentAnswer,
  InvalidStateError,
  type Page,
  type Paged,
  type RunFinish,
  type RunInput,
} from '../store.js';
import { handedOffDelivery, handoffRoom, leaseHandedOff, readWebhooksQuery } from './claimDueDeliveries.js';
import { baselineQuery, comparedRun, maxResultsOf, settleFinishedRun } from './compareWithBaseline.js';
import { type Ctx, countAll, type Db, readPage } from './context.js';
import { emitEvents, emitStateChanges } from './emitEvents.js';
import { type EventRoute, routesForEvent } from './eventRoutes.js';
import { lockQueues, queueBusy, waitingColumns } from './fifo.js';
import { keepAnswerIn } from './idempotency.js';
import { toRun, toWebhook } from './mappers.js';
import { eventDeliveryRow } from './newRows.js';
import { joinRunGroup, settleGroupAfterFinish } from './runGroups.js';
import { insertResults } from './scenarioResults.js';
import { filledShape, Slots } from './statementShapes.js';

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

async function agentOf(trx: Db, orgId: string, agentId: string): Promise<{ id: string; name: string }> {
  const agent = await trx
    .selectFrom('agents')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('id', '=', agentId)
    .executeTakeFirst();
  if (!agent) throw new AgentMissingError('agent not found');
  return agent;
}

async function insertRun(
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
    baseline_run_id: finish?.baselineRunId ?? input.baselineRunId ?? null,
    changes: null as string | null,
    score: null as number | null,
    group_name: input.group ?? null,
    group_size: input.groupSize ?? null,
  };
}

/**
 * Every event a run's finish makes, in its transaction: the run's own, its group's when the run
 * completes it (docs/delivery.md#run-groups), and a `test_status_changed` per test whose state
 * it changed. True when there is something to send.
 */
async function insertFinishEvents(
  ctx: Ctx,
  trx: Db,
  settled: Awaited<ReturnType<typeof settleFinishedRun>>,
  publicUrl: string,
  now: number,
): Promise<boolean> {
  const own = await insertEvent(ctx, trx, settled.run, publicUrl, now, settled.notable);
  const group = await settleGroupAfterFinish(trx, settled.run, publicUrl, now);
  const states = await emitStateChanges(trx, settled.run, settled.stateChanges, publicUrl, now);
  return own || group || states;
}

/**
 * Stores the run's event and a delivery per webhook it goes to (pending, or failed at once for a
 * webhook the system turned off). Same transaction as the run. True when there is something to send.
 */
async function insertEvent(
  ctx: Ctx,
  trx: Db,
  run: TestRun,
  publicUrl: string,
  now: number,
  notable: boolean,
): Promise<boolean> {
  const routes = await routesForEvent(trx, {
    orgId: run.orgId,
    agentId: run.agentId,
    eventType: 'test_run_completed',
  });
  const out = eventRows(run, routes, publicUrl, now, notable);
  await trx.insertInto('events').values(out.event).execute();
  let sent = false;
  const deliveries = [];
  for (const d of out.deliveries) {
    let delivery = d;
    const webhook = routes.find((r) => r.webhook.id === d.webhook_id)?.webhook;
    // A `fifo` webhook: the delivery waits behind an unfinished one of the agent's queue (fifo.ts).
    if (d.status === DELIVERY_STATUS.pending && webhook?.ordering === 'fifo') {
      const locked = await lockQueues(trx, ctx.hooks, d.webhook_id);
      if (locked?.fifo && (await queueBusy(trx, ctx.hooks, d.webhook_id, run.agentId))) {
        delivery = { ...d, ...waitingColumns(now) };
      }
    }
    deliveries.push(delivery);
    if (delivery.status === DELIVERY_STATUS.pending && delivery.held_at === null) sent = true;
  }
  if (deliveries.length > 0) await trx.insertInto('deliveries').values(deliveries).execute();
  return sent;
}

/**
 * A finished run's event row and a delivery row per webhook its routes send it to (pending, or
 * failed at once for a webhook the system turned off); `queued` when there is something to send.
 * One reading for the interactive path and the one-unit path.
 */
function eventRows(
  run: TestRun,
  routes: readonly EventRoute[],
  publicUrl: string,
  now: number,
  notable: boolean,
) {
  const rendered = renderEvent(standardPayload(run, now, publicUrl), now);
  // Time-ordered ids (docs/architecture.md#attempt-rows): a drain, which goes in creation order,
  // then reads and writes the delivery and attempt indexes keyed by them at their ends.
  const event = {
    id: timeOrderedUuid(now),
    org_id: run.orgId,
    type: 'test_run_completed' as const,
    test_run_id: run.id,
    payload: rendered.payload,
    created_at: now,
  };
  // A webhook whose filter leaves the run out gets no delivery: no fallback to the org's.
  const deliveries = routes
    .filter((route) => runPassesFilter(route.webhook.filter, run, notable))
    .map((route) =>
      eventDeliveryRow(
        route,
        { orgId: run.orgId, eventId: event.id, testRunId: run.id, agentId: run.agentId },
        rendered,
        now,
      ),
    );
  return { event, deliveries, queued: deliveries.some((d) => d.status === DELIVERY_STATUS.pending) };
}

function runPassesFilter(filter: WebhookFilter | null, run: TestRun, notable: boolean): boolean {
  const total = effectiveTotal(run.passedCount, run.failedCount, run.errorCount, run.totalScenarios);
  return filterMatches(filter, run.status as FinalRunStatus, passRate(run.passedCount, total), notable);
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

export async function createFinishedRun(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
  answer?: IdempotentAnswer<TestRun>,
): Promise<TestRun> {
  // Results to store, a baseline the caller named, or a keyed request (its answer is kept in the
  // run's transaction, docs/api.md#idempotency): the interactive path, which compares in the
  // transaction. Otherwise the one-unit path, which compares by failure names.
  const simple =
    !answer &&
    !(finish.results && finish.results.length > 0) &&
    !input.baselineRunId &&
    !finish.baselineRunId &&
    // A run of a group settles its group in its transaction (docs/delivery.md#run-groups).
    !input.group;
  const fast = simple ? await createFinishedRunAtOnce(ctx, orgId, input, finish, publicUrl, now) : null;
  if (fast) {
    if (fast.queued && fast.tell !== 'none') await ctx.hooks.notifyNewWork({ local: fast.tell === 'all' });
    return fast.run;
  }
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    const agent = await agentOf(trx, orgId, input.agentId);
    const id = randomUUID();
    // The results first, before the organization's row lock that numbering the run takes: runs
    // that finish at once store theirs side by side on PostgreSQL (docs/architecture.md#results).
    const sent = finish.results ?? [];
    const stored =
      sent.length > 0
        ? await insertResults(ctx, trx, { id, orgId, agentId: agent.id }, sent, maxResultsOf(finish), now)
        : undefined;
    const created = await insertRun(trx, orgId, input, finish.status, finish, now, { id, agent });
    await joinRunGroup(trx, created, now);
    const settled = await settleFinishedRun(ctx, trx, created, finish, now, stored);
    queued = await insertFinishEvents(ctx, trx, settled, publicUrl, now);
    await keepAnswerIn(trx, answer, settled.run);
    return settled.run;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}

/**
 * What createFinishedRunAtOnce read about an agent and the webhooks that may receive its runs. It
 * may be kept a while because it is never trusted: each run checks it under the organization's
 * row lock and falls back (dropping it) when anything changed, so keeping it only saves the reads.
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

/** The code of a SQLite unit that found the agent or the webhooks changed since they were read. */
const STALE = 'RUNHOOK_STALE';

/** The columns PostgreSQL's one statement fills from the organization row it updates. */
const FILLED_FROM_ORG = new Set(['test_runs.seq', 'events.payload', 'deliveries.body']);

/**
 * The route-relevant state of the webhooks that may receive an agent's runs (docs/delivery.md):
 * which exist, their scope, whether and why they are off, their format, filter, ordering and event types. The same text
 * whenever nothing of that changed; read with the snapshot and compared under the row lock.
 */
function webhookStateSql(ctx: Ctx, orgId: unknown, agentId: unknown) {
  const hooks = sql`webhooks WHERE org_id = ${orgId} AND deleted_at IS NULL
    AND (agent_id = ${agentId} OR agent_id IS NULL)`;
  const fields = sql`id, agent_id, is_enabled, disabled_reason, format, filter, ordering, events`;
  return ctx.hooks.dialect === 'sqlite'
    ? sql<
        string | null
      >`(SELECT json_group_array(json_array(${fields})) FROM (SELECT * FROM ${hooks} ORDER BY id))`
    : sql<string | null>`(SELECT json_agg(json_build_array(${fields}) ORDER BY id)::text FROM ${hooks})`;
}

/** `formatRunId(seq)` in SQL: `TR-` and the number, zero-padded to 5 digits, never cut. */
function runIdSql(ctx: Ctx, seq: RawBuilder<unknown>) {
  return ctx.hooks.dialect === 'sqlite'
    ? sql<string>`'TR-' || printf('%05d', ${seq})`
    : // lpad cuts a longer text to the length, so run 100000 and later are written out whole.
      sql<string>`'TR-' || CASE WHEN ${seq} < 100000 THEN lpad(${seq}::text, 5, '0') ELSE ${seq}::text END`;
}

/**
 * The agent and the webhooks that may receive its runs, from the cache or read afresh in one
 * statement (so from one snapshot: the webhooks and their state text agree). A missing agent is not
 * remembered: it is answered from the database every time.
 */
async function routeSnapshot(ctx: Ctx, orgId: string, agentId: string) {
  const { db } = ctx;
  const cache = routeCaches.get(db) ?? new Map<string, RouteSnapshot>();
  routeCaches.set(db, cache);
  const key = `${orgId}:${agentId}`;
  const forget = () => cache.delete(key);
  const kept = cache.get(key);
  if (kept && kept.until > Date.now()) return { snapshot: kept, forget };
  forget();
  const rows = await db
    .selectFrom('agents')
    .leftJoin('webhooks', (join) =>
      join
        .onRef('webhooks.org_id', '=', 'agents.org_id')
        .on('webhooks.deleted_at', 'is', null)
        .on((eb) => eb.or([eb('webhooks.agent_id', '=', agentId), eb('webhooks.agent_id', 'is', null)])),
    )
    .selectAll('webhooks')
    .select(['agents.name as route_agent_name', webhookStateSql(ctx, orgId, agentId).as('route_state')])
    .where('agents.org_id', '=', orgId)
    .where('agents.id', '=', agentId)
    .execute();
  const first = rows[0];
  if (!first) throw new AgentMissingError('agent not found');
  const snapshot: RouteSnapshot = {
    agent: { id: agentId, name: first.route_agent_name },
    webhooks: rows.flatMap((r) => (r.id === null ? [] : [toWebhook(r as Selectable<WebhooksTable>)])),
    state: first.route_state,
    until: Date.now() + ROUTE_CACHE_MS,
  };
  if (cache.size >= ROUTE_CACHE_MAX) cache.clear();
  cache.set(key, snapshot);
  return { snapshot, forget };
}

/**
 * createFinishedRun without an interactive transaction (a round trip per statement, the
 * connection held throughout): the route is taken from a snapshot of the agent and its webhooks
 * (routeSnapshot), and the writes go at once, checking under the organization's row lock that
 * neither changed since: SQLite in one message to its thread, joined to the next group commit
 * (one unit); PostgreSQL in one statement, its own transaction (docs/architecture.md#the-store).
 * The run number is only known inside: the event and the body are rendered with a placeholder
 * number that the database replaces with `TR-<seq>`. Null when the check failed (something changed
 * meanwhile): the caller then takes the interactive path, which decides afresh.
 */
async function createFinishedRunAtOnce(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
): Promise<{
  run: TestRun;
  queued: boolean;
  /**
   * Which workers the caller still tells about the new delivery: none (handed off, or being handed
   * off by a continuation that tells them if that fails), others (the worker of this process was
   * told by `take`), or all.
   */
  tell: 'none' | 'others' | 'all';
} | null> {
  const { db } = ctx;
  const { snapshot, forget } = await routeSnapshot(ctx, orgId, input.agentId);
  const { agent, state } = snapshot;
  // A `fifo` webhook's delivery may have to wait in its queue, which is decided under the webhook's
  // row lock (fifo.ts): the interactive path. `parallel` webhooks keep this one.
  const id = randomUUID();
  // A number no run has yet, as the placeholder; one that appears in what the client sent is not used.
  const sent = JSON.stringify([input, finish, agent.name, publicUrl]);
  let placeholder = 0;
  for (let i = 0; i < 5 && (placeholder === 0 || sent.includes(String(placeholder))); i++) {
    // 16 digits, below Number.MAX_SAFE_INTEGER.
    placeholder = 1_000_000_000_000_000 + Math.floor(Math.random() * 8_000_000_000_000_000);
  }
  if (sent.includes(String(placeholder))) return null;
  // What changed since the agent's latest run of the same suite or name that had finished when
  // this request read it, by failure names. Not checked again under the lock: runs that finish at
  // the same moment are not each other's baseline, and checking made every such pair fall back to
  // the interactive path (docs/architecture.md#results).
  const scope = { orgId, agentId: agent.id, name: input.name, testSuiteId: input.testSuiteId ?? null };
  const baselineRow = await baselineQuery(db, { ...scope, seq: null })
    .selectAll()
    .executeTakeFirst();
  const runValues = runRow(id, orgId, placeholder, agent, input, finish.status, finish, now);
  const undated = toRun({ ...runValues, deliveries_expired_at: null });
  const baseline = baselineRow ? toRun(baselineRow) : null;
  const { changes } = compareRuns(comparedRun(undated, null), baseline && comparedRun(baseline, null));
  runValues.changes = changes === null ? null : JSON.stringify(changes);
  const draft: TestRun = { ...undated, changes };
  const notable = isNotable(changes, finish.status, baseline?.status ?? null);
  const routes = resolveWebhooks(snapshot.webhooks, agent.id, 'test_run_completed');
  if (routes.some((r) => r.kind === 'send' && r.webhook.ordering === 'fifo')) return null;
  const rows = eventRows(draft, routes, publicUrl, now, notable);
  // The worker in this process takes the delivery at commit, if it has a slot and it is the
  // run's only one (docs/architecture.md#hand-off).
  const only = rows.deliveries.length === 1 && rows.queued ? (rows.deliveries[0] ?? null) : null;
  const taker = only ? (ctx.handoff?.taker ?? null) : null;
  let reserved = only && taker?.reserve(only.webhook_id) ? taker : null;
  let handedOff: ClaimedDelivery | null = null;
  try {
    const done = (inserted: Record<string, unknown> | undefined) => {
      if (!inserted) throw new Error('the new test run was not returned');
      return {
        run: toRun(inserted as Selectable<TestRunsTable>),
        queued: rows.queued,
        tell: (reserved === null ? 'all' : handedOff ? 'none' : 'others') as 'none' | 'others' | 'all',
      };
    };

    // The statements have one of a few shapes; each shape is built and compiled by Kysely once, with
    // a slot for every value, and then only filled (statementShape).
    const slots = new Slots();
    const values: RunValues = {
      orgId: slots.one('org_id', orgId),
      agentId: slots.one('agent_id', agent.id),
      agentName: slots.one('agent_name', agent.name),
      state: slots.one('state', state),
      marker: slots.one('marker', formatRunId(placeholder)),
      run: slots.row('run', { ...runValues, seq: 0 }),

      event: slots.row('event', rows.event),
      deliveries: rows.deliveries.map((d, i) => slots.row(`delivery${i}`, d)),
      handoff:
        reserved && ctx.hooks.runUnit
          ? {
              owner: slots.one('handoff_owner', reserved.workerId),
              now: slots.one('handoff_now', now),
              until: slots.one('handoff_until', now + reserved.leaseMs),
              webhookCap: slots.one('handoff_webhook_cap', reserved.perWebhookCap),
              orgCap: slots.one('handoff_org_cap', reserved.perOrgCap),
              settled: slots.one('handoff_settled', JSON.stringify(reserved.idleIds())),
            }
          : null,
    };
    const shape = `finishedRun:${rows.deliveries.length}:${values.handoff ? 'handoff' : ''}`;
    const queries = filledShape(ctx, shape, slots, () => buildStatements(ctx, values));

    if (ctx.hooks.runUnit) {
      const [takeSeq, ...inserts] = queries as [CompiledQuery, ...CompiledQuery[]];
      try {
        const results = await ctx.hooks.runUnit([
          { query: takeSeq, requireRow: STALE },
          ...inserts.map((query) => ({ query })),
        ]);
        // The unit: take seq, run, event, then (hand-off) the delivery and its webhook.
        if (reserved) handedOff = handedOffDelivery(results.slice(3), reserved.workerId, now);
        return done(results[1]?.rows[0]);
      } catch (err) {
        if ((err as { code?: string }).code !== STALE) throw err;
        forget();
        return null;
      }
    }
    try {
      const result = await db.executeQuery<Record<string, unknown>>(queries[0] as CompiledQuery);
      const out = done(result.rows[0]);
      if (reserved && only) {
        // Committed. The worker may now lease it, in a batch of its own (the statement could not
        // see a concurrent claim's leases), while the caller is answered; the workers are told only
        // if it was not leased.
        const offer = reserved;
        reserved = null; // answered below, not in `finally`
        const d = { deliveryId: only.id, webhookId: only.webhook_id, orgId, now };
        void leaseHandedOff(ctx, offer, d)
          .catch(() => null)
          .then((leased) => {
            offer.take(leased, d.webhookId);
            if (!leased) void ctx.hooks.notifyNewWork({ local: false });
          });
        return { ...out, tell: 'none' as const };
      }
      return out;
    } catch (err) {
      const e = err as { code?: string; table?: string; column?: string };
      if (e.code !== '23502' || !FILLED_FROM_ORG.has(`${e.table}.${e.column}`)) throw err;
      forget();
      return null;
    }
  } finally {
    // Committed (or not) by now: the worker sends it at once, or frees the slot it kept for it.
    if (reserved && only) reserved.take(handedOff, only.webhook_id);
  }
}

/** The values of one finished run's statements, as slots (see Slots). */
interface RunValues {
  orgId: symbol;
  agentId: symbol;
  agentName: symbol;
  state: symbol;
  marker: symbol;
  run: Record<string, unknown>;
  event: Record<string, unknown>;
  /** One per webhook the event goes to. */
  deliveries: Record<string, unknown>[];
  /** Lease the only delivery to this worker if there is room (SQLite only; docs/architecture.md#hand-off). */
  handoff: {
    owner: symbol;
    now: symbol;
    until: symbol;
    webhookCap: symbol;
    orgCap: symbol;
    settled: symbol;
  } | null;
}

/**
 * A finished run's writes, checking under the organization's row lock that the agent and the
 * webhooks are as the snapshot says. SQLite: the guarded UPDATE that takes the run number, then the
 * run, event and delivery INSERTs (one unit). PostgreSQL: one statement of data-modifying WITH
 * parts, in its own transaction (workers are told after the commit). When the check fails,
 * `org` is empty and the run's seq (and the event's payload, the delivery's body) get NULL: the
 * statement fails with not_null_violation, storing nothing and taking no number. VALUES (not
 * INSERT … SELECT) gives the parameters the columns' types.
 */
function buildStatements(ctx: Ctx, v: RunValues): CompiledQuery[] {
  const { db } = ctx;
  // The next run number, taken only while the agent and the webhooks are as the snapshot says.
  const takeSeq = db
    .updateTable('organizations')
    .set((eb) => ({ run_seq: eb('run_seq', '+', 1) }))
    .where('id', '=', v.orgId as never)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('agents')
          .select('id')
          .where('org_id', '=', v.orgId as never)
          .where('id', '=', v.agentId as never)
          .where('name', '=', v.agentName as never),
      ),
    )
    .where(sql<boolean>`${webhookStateSql(ctx, v.orgId, v.agentId)} IS NOT DISTINCT FROM ${v.state}`);
  const inserts = (seq: RawBuilder<number>, runId: RawBuilder<string>) => {
    const withRunId = (text: unknown) => sql<string>`replace(${text}, ${v.marker}, ${runId})`;
    return {
      run: db
        .insertInto('test_runs')
        .values({ ...v.run, seq } as never)
        .returningAll(),
      event: db.insertInto('events').values({ ...v.event, payload: withRunId(v.event.payload) } as never),
      deliveries: v.deliveries.map((delivery) =>
        db.insertInto('deliveries').values({
          ...delivery,
          body: withRunId(delivery.body),
          ...(v.handoff && handoffLease(ctx, v.handoff, v.orgId, delivery)),
        } as never),
      ),
    };
  };

  if (ctx.hooks.runUnit) {
    const q = inserts(
      sql<number>`(SELECT run_seq FROM organizations WHERE id = ${v.orgId})`,
      sql<string>`(SELECT ${runIdSql(ctx, sql.ref('run_seq'))} FROM organizations WHERE id = ${v.orgId})`,
    );
    const handedOff = v.handoff ? q.deliveries[0] : undefined;
    const target = handedOff && v.deliveries[0] && readWebhooksQuery(db, [v.deliveries[0].webhook_id]);
    return [
      takeSeq.compile(),
      q.run.compile(),
      q.event.compile(),
      ...(handedOff
        ? [
            handedOff
              .returning([
                'id',
                'event_id',
                'org_id',
                'webhook_id',
                'body',
                'attempt_count',
                'retries_done',
                'next_trigger',
                'final_attempt',
                'lease_owner',
              ])
              .compile(),
          ]
        : q.deliveries.map((d) => d.compile())),
      ...(target ? [target] : []),
    ];
  }
  const q = inserts(sql<number>`(SELECT run_seq FROM org)`, sql<string>`(SELECT run_id FROM org)`);
  const parts = [
    sql`org AS (${takeSeq.returning(['run_seq', runIdSql(ctx, sql.ref('run_seq')).as('run_id')])})`,
    sql`run AS (${q.run})`,
    sql`event AS (${q.event})`,
    ...q.deliveries.map((d, i) => sql`${sql.raw(`delivery${i}`)} AS (${d})`),
  ];
  return [
    sql`WITH ${sql.join(parts)}
      SELECT run.* FROM run`.compile(db),
  ];
}

/**
 * The hand-off's lease columns (docs/architecture.md#hand-off): the worker's lease when the
 * webhook and the organization are below their caps, counted as a claim counts them (settled
 * attempts left out), and no delivery of the webhook is waiting, due and unleased (it would be
 * overtaken); otherwise none, and the delivery waits for a claim like any other. Evaluated in the
 * unit, under SQLite's write lock, which claims take too: the caps hold exactly.
 */
function handoffLease(
  ctx: Ctx,
  h: NonNullable<RunValues['handoff']>,
  orgId: symbol,
  delivery: Record<string, unknown>,
) {
  const room = handoffRoom(ctx.hooks, {
    deliveryId: delivery.id,
    webhookId: delivery.webhook_id,
    orgId,
    workerId: h.owner,
    now: h.now,
    until: h.until,
    idleIds: { json: h.settled },
    webhookCap: h.webhookCap,
    orgCap: h.orgCap,
  });
  return {
    lease_owner: sql`CASE WHEN ${room} THEN ${h.owner} END`,
    lease_until: sql`CASE WHEN ${room} THEN ${h.until} END`,
  };
}

export async function finishRun(
  ctx: Ctx,
  orgId: string,
  id: string,
  finish: RunFinish,
  publicUrl: string,
  now: number,
  answer?: IdempotentAnswer<TestRun>,
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
      .where('status', 'in', [RUN_STATUS.pending, RUN_STATUS.running, RUN_STATUS.grading])
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new InvalidStateError('the test run has already finished');
    const settled = await settleFinishedRun(ctx, trx, toRun(row), finish, now);
    queued = await insertFinishEvents(ctx, trx, settled, publicUrl, now);
    await keepAnswerIn(trx, answer, settled.run);
    return settled.run;
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
