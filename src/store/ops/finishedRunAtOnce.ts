/**
 * The ingest fast path (docs/architecture.md#the-store): a finished run, its event and its delivery
 * written at once, without an interactive transaction, from the route snapshot (routeSnapshot.ts),
 * in one SQLite unit or one PostgreSQL statement that checks the snapshot under the organization's
 * row lock; and the hand-off of the delivery to this process's worker (docs/architecture.md#hand-off).
 *
 * Used by other ops: `createFinishedRunAtOnce` (finishRun.ts, which takes the interactive path when
 * it answers null).
 */
import { randomUUID } from 'node:crypto';
import { type CompiledQuery, type RawBuilder, type Selectable, sql } from 'kysely';
import { compareRuns, isNotable } from '../../domain/changes.js';
import { formatRunId } from '../../domain/runMath.js';
import { resolveWebhooks } from '../../domain/scoping.js';
import type { TestRun } from '../../domain/types.js';
import type { TestRunsTable } from '../schema.js';
import type { ClaimedDelivery, RunFinish, RunInput } from '../store.js';
import { handedOffDelivery, handoffRoom, leaseHandedOff, readWebhooksQuery } from './claimDueDeliveries.js';
import { baselineQuery, comparedRun } from './compareWithBaseline.js';
import type { Ctx } from './context.js';
import { eventRows } from './finishEvents.js';
import { toRun } from './mappers.js';
import { routeSnapshot, webhookStateSql } from './routeSnapshot.js';
import { runRow } from './runs.js';
import { filledShape, Slots } from './statementShapes.js';

/** The code of a SQLite unit that found the agent or the webhooks changed since they were read. */
const STALE = 'RUNHOOK_STALE';

/** The columns PostgreSQL's one statement fills from the organization row it updates. */
const FILLED_FROM_ORG = new Set(['test_runs.seq', 'events.payload', 'deliveries.body']);

/** `formatRunId(seq)` in SQL: `TR-` and the number, zero-padded to 5 digits, never cut. */
function runIdSql(ctx: Ctx, seq: RawBuilder<unknown>) {
  return ctx.hooks.dialect === 'sqlite'
    ? sql<string>`'TR-' || printf('%05d', ${seq})`
    : // lpad cuts a longer text to the length, so run 100000 and later are written out whole.
      sql<string>`'TR-' || CASE WHEN ${seq} < 100000 THEN lpad(${seq}::text, 5, '0') ELSE ${seq}::text END`;
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
export async function createFinishedRunAtOnce(
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
  const planned = await draftFinishedRun(ctx, orgId, input, finish, publicUrl, now);
  if (!planned) return null;
  const { agent, state, forget, placeholder, runValues, rows } = planned;
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

/**
 * What createFinishedRunAtOnce writes, decided from the route snapshot before any write: the run's
 * row, numbered with a placeholder, what changed since its baseline, and its event and delivery
 * rows. Null when this path does not take the run.
 */
async function draftFinishedRun(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
) {
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
  return { agent, state, forget, placeholder, runValues, rows };
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
