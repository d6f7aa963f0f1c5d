/**
 * Claiming due deliveries, fairly (docs/operations.md#fairness-and-limits).
 *
 * 1. Plan, without locks: the attempts in flight per webhook and organization (live leases, read
 *    through the lease indexes: about as many rows as attempts in flight), and for each webhook
 *    with pending deliveries its earliest unleased due time and how many are due now, up to the
 *    cap. Webhooks are found by skipping through `deliveries_pending_webhook` from one webhook id
 *    to the next, so the cost follows the number of webhooks with pending work, never the depth of
 *    a backlog: a full webhook with 60,000 due deliveries costs one index probe.
 * 2. shareSlots (domain/fairShare.ts) hands this worker's free slots out across organizations and
 *    webhooks; with `prefetch`, sharePrefetch gives what is left to leasing ahead
 *    (docs/architecture.md#leasing-ahead).
 * 0. Lost attempts (recordLostAttempts.ts): an expired lease that still names its owner is logged
 *    as a `worker_lost` attempt and cleared.
 * 3. Lease, in one transaction per claim: per chosen webhook, one statement that counts its live
 *    leases and its organization's again and leases no more than both caps allow (plus what it may
 *    lease ahead), so concurrent workers never exceed them whatever they planned. On PostgreSQL the
 *    transaction first tries an advisory lock per webhook, and per organization whose cap binds,
 *    waiting for none: it leases only where it got them, and claims for other webhooks and
 *    organizations never queue behind each other (docs/architecture.md#claims). SQLite's one writer
 *    serialises everything anyway. When anything is or will be held ahead, the transaction first
 *    counts every other worker's leases, by which the worker sends what it holds ahead.
 *
 * The organization's cap (docs/operations.md#fairness-and-limits): with `orgBorrow` (the default,
 * `RUNHOOK_ORG_CONCURRENCY=auto`), an organization that is alone with work (nothing of another
 * organization due or in flight) may go past `perOrgCap` with this worker's free slots, all but
 * `reserve` of them; its claims then take no organization lock, only its webhooks' (the webhook caps
 * and each worker's slots bound it). Once another organization has work, `perOrgCap` binds again.
 *
 * Both counts leave out this worker's idle leases (`idleIds`): settled attempts, answered, their
 * results waiting for the group commit that writes them, and deliveries leased ahead, not sent.
 * They stay leased, so nobody else takes them, but they are no requests to the endpoint, which is
 * what the caps limit. Other workers still count them (safe for a cap). Only a lease this worker
 * holds from before this claim is left out: one another worker took over after it ran out, or one
 * this claim leases again, counts.
 */
import { type CompiledQuery, sql } from 'kysely';
import { sharePrefetch, shareSlots, type WebhookBacklog } from '../../domain/fairShare.js';
import { ATTEMPT_TRIGGER, type AttemptTrigger, DELIVERY_STATUS } from '../../domain/types.js';
import type { Claim, ClaimedDelivery, HandoffTaker } from '../store.js';
import { type Ctx, type DialectHooks, indexedBy } from './context.js';
import { recordLostAttempts } from './recordLostAttempts.js';
import { type SendTargetRow, sendTarget } from './sendTarget.js';
import { filledShape, Slots } from './statementShapes.js';

export interface ClaimInput {
  workerId: string;
  now: number;
  limit: number;
  leaseMs: number;
  perWebhookCap: number;
  perOrgCap: number;
  /** This worker's leases that are not requests in flight: settled, or queued (leased ahead). */
  idleIds?: readonly string[];
  /** Lease ahead (Store.claimDueDeliveries). */
  prefetch?: { perWebhook: number; room: number; queued: ReadonlyMap<string, number> };
  /** An organization alone with work may use this worker's free slots but `reserve` (see above). */
  orgBorrow?: { free: number; reserve: number };
}

/** An organization cap that never binds: the organization borrows (see orgBorrow). */
const UNBOUND = 1_000_000_000;
/** How often a worker looks for the leases of workers that are gone (docs/delivery.md#leases-and-at-least-once). */
const DEAD_OWNER_CHECK_MS = 1_000;

/** Per store: when each worker last looked for dead workers' leases (see recordLostAttempts). */
const lastOwnerCheck = new WeakMap<DialectHooks, Map<string, number>>();

/**
 * Whether this claim also looks for leases whose owner is gone although they have not run out:
 * PostgreSQL, once a second per worker (its session lock, DialectHooks.workerLocks); SQLite at the
 * worker's first claim, when any other owner's lease is from an earlier process (its workers hold
 * leases only while they run; docs/delivery.md#leases-and-at-least-once).
 */
function deadOwnerCheck(hooks: DialectHooks, workerId: string, now: number): 'locks' | 'others' | null {
  let seen = lastOwnerCheck.get(hooks);
  if (!seen) {
    seen = new Map();
    lastOwnerCheck.set(hooks, seen);
  }
  const last = seen.get(workerId);
  if (hooks.dialect === 'sqlite') {
    if (last !== undefined) return null;
    seen.set(workerId, now);
    return 'others';
  }
  if (last !== undefined && now - last < DEAD_OWNER_CHECK_MS) return null;
  seen.set(workerId, now);
  return 'locks';
}

/** The workers of this store that ever claimed (SQLite: their leases are this process's). */
function workersOf(hooks: DialectHooks): string[] {
  return [...(lastOwnerCheck.get(hooks)?.keys() ?? [])];
}

/**
 * Each organization's cap for this claim: `perOrgCap`, or (orgBorrow) for an organization alone
 * with work, what it holds plus this worker's free slots but the reserve, as UNBOUND in the lease
 * statement (it takes no organization lock).
 */
function orgCapsOf(
  input: ClaimInput,
  backlog: readonly WebhookBacklog[],
  orgLeased: ReadonlyMap<string, number>,
): { share: Map<string, number>; unbound: Set<string> } {
  const share = new Map<string, number>();
  const unbound = new Set<string>();
  if (!input.orgBorrow) return { share, unbound };
  const busy = new Set<string>();
  for (const b of backlog) if (b.firstDueAt !== null && b.firstDueAt <= input.now) busy.add(b.orgId);
  for (const [org, n] of orgLeased) if (n > 0) busy.add(org);
  if (busy.size !== 1) return { share, unbound };
  const [org] = busy as unknown as [string];
  const { free, reserve } = input.orgBorrow;
  share.set(org, Math.max(input.perOrgCap, (orgLeased.get(org) ?? 0) + free - reserve));
  unbound.add(org);
  return { share, unbound };
}

const PENDING = sql.lit(DELIVERY_STATUS.pending);

export async function claimDueDeliveries(ctx: Ctx, input: ClaimInput): Promise<Claim> {
  const { hooks } = ctx;
  const db = hooks.workerDb ?? ctx.db;
  const { workerId, now, limit, leaseMs, perWebhookCap, perOrgCap } = input;
  const until = now + leaseMs;
  const prefetch = input.prefetch && input.prefetch.perWebhook > 0 ? input.prefetch : null;
  // Due deliveries are counted up to what one claim could lease of a webhook.
  const dueCountLimit = perWebhookCap + (prefetch?.perWebhook ?? 0);
  const inFlight = inFlightLease(hooks, { workerId, now, until, idleIds: input.idleIds ?? [] });

  // 0. A dead worker's leases that ran out: their attempts go into the history as worker_lost
  // before step 3 can lease those deliveries again. Alongside the plan, which counts only live
  // leases and sees these deliveries as unleased either way: no extra round trip per claim.
  // 1. Plan.
  const deadOwners = deadOwnerCheck(hooks, workerId, now);
  const [lost, leases, backlogRows] = await Promise.all([
    recordLostAttempts(
      { db, hooks },
      { workerId, now, leaseMs, deadOwners, workersHere: deadOwners === 'others' ? workersOf(hooks) : [] },
    ),
    sql<{ webhook_id: string; org_id: string; n: number | string; ends: number | string }>`
      SELECT webhook_id, org_id, count(*) AS n, min(lease_until) AS ends
      FROM deliveries WHERE ${inFlight}
      GROUP BY webhook_id, org_id`.execute(db),
    backlogQuery(hooks, now, dueCountLimit).execute(db),
    // Held before this worker's first lease, so that no other worker takes it for dead.
    hooks.workerLocks?.hold(workerId),
  ]);
  const webhookLeased = new Map<string, number>();
  const orgLeased = new Map<string, number>();
  let leaseEnds: number | null = null;
  for (const l of leases.rows) {
    const n = Number(l.n);
    webhookLeased.set(l.webhook_id, (webhookLeased.get(l.webhook_id) ?? 0) + n);
    orgLeased.set(l.org_id, (orgLeased.get(l.org_id) ?? 0) + n);
    leaseEnds = leaseEnds === null ? Number(l.ends) : Math.min(leaseEnds, Number(l.ends));
  }
  const backlog: WebhookBacklog[] = backlogRows.rows.map((r) => ({
    webhookId: r.webhook_id,
    orgId: r.org_id,
    firstDueAt: r.first_due === null ? null : Number(r.first_due),
    dueNow: Number(r.due_now),
    leased: webhookLeased.get(r.webhook_id) ?? 0,
  }));

  // 2. Share.
  const orgCaps = orgCapsOf(input, backlog, orgLeased);
  const share = shareSlots({
    backlog,
    orgLeased,
    now,
    limit,
    webhookCap: perWebhookCap,
    orgCap: perOrgCap,
    orgCaps: orgCaps.share,
  });
  // A lease running out frees a slot (or hands back a dead worker's delivery): wake for it too.
  const nextDueAt =
    leaseEnds === null ? share.nextDueAt : Math.min(share.nextDueAt ?? leaseEnds, leaseEnds + 1);
  // Due now and unleased, before this claim. Each webhook's count stops at the cap, so one at the
  // cap may have more.
  const waitingAfter = (leased: ReadonlyMap<string, number>) =>
    backlog
      .filter((b) => b.dueNow >= dueCountLimit || b.dueNow > (leased.get(b.webhookId) ?? 0))
      .map((b) => b.webhookId);
  // Leasing ahead: the slots the share left, to webhooks with more due than they were granted.
  const extra = prefetch
    ? sharePrefetch({
        backlog,
        take: share.take,
        now,
        limit: Math.min(prefetch.room, limit - share.take.reduce((n, t) => n + t.count, 0)),
        perWebhook: prefetch.perWebhook,
        queued: prefetch.queued,
        orgLeased,
        orgCap: perOrgCap,
        orgCaps: orgCaps.share,
      })
    : new Map<string, number>();
  const orgCap = (orgId: string) => (orgCaps.unbound.has(orgId) ? UNBOUND : perOrgCap);
  const take = share.take.map((t) => ({ ...t, extra: extra.get(t.webhookId) ?? 0, orgCap: orgCap(t.orgId) }));
  for (const b of backlog) {
    const n = extra.get(b.webhookId);
    if (n && !share.take.some((t) => t.webhookId === b.webhookId))
      take.push({ webhookId: b.webhookId, orgId: b.orgId, count: 0, extra: n, orgCap: orgCap(b.orgId) });
  }
  if (take.length === 0) {
    const waitingWebhooks = waitingAfter(new Map());
    return {
      deliveries: [],
      nextDueAt,
      // Deliveries of a dead worker were just freed: claim again soon.
      leftOver: share.leftOver || lost > 0,
      waitingWebhooks,
      // A worker holding deliveries ahead learns whether the others' leases went down. Read after
      // its last lease, this count is as good as one taken in a lease's transaction.
      othersLeased:
        prefetch && prefetch.queued.size > 0
          ? othersLeasedMaps((await othersLeasedQuery(workerId, now).execute(db)).rows)
          : undefined,
    };
  }

  // 3. Lease.
  const lease = { workerId, now, until, perWebhookCap, inFlight };
  // A webhook's `extra` may be leased beyond its room and its organization's, to wait in the
  // worker's queue, unless another worker holds a lease of that webhook (see othersHold).
  const leaseStatements =
    hooks.dialect === 'postgres'
      ? [leaseAllStatement({ take, ...lease }).compile(db)]
      : take.map((t) => leaseWebhookStatement(hooks, { ...t, ...lease }).compile(db));
  const readWebhooks = readWebhooksList(
    ctx,
    take.map((t) => t.webhookId),
  );
  // The other workers' leases, counted in this transaction before it leases (docs/architecture.md#leasing-ahead).
  // Only when something is or will be held ahead: a claim whose deliveries are all within the rooms
  // needs no count (they are sent at once).
  const counting = prefetch !== null && (prefetch.queued.size > 0 || take.some((t) => t.extra > 0));
  const others = counting ? [othersLeasedQuery(workerId, now).compile(db)] : [];
  // PostgreSQL: the locks this claim tries (docs/architecture.md#claims): each webhook's, and each
  // organization's whose cap binds. A webhook or organization another claim holds is skipped.
  const locks = [
    ...take.map((t) => `w:${t.webhookId}`),
    ...take.filter((t) => t.orgCap !== UNBOUND).map((t) => `o:${t.orgId}`),
  ];
  const results = await hooks.runBatch([...others, ...leaseStatements, readWebhooks], {
    durable: false,
    locks,
  });
  const othersRows = (counting ? results.shift()?.rows : undefined) as
    | Array<{ webhook_id: string; org_id: string; n: number | string }>
    | undefined;
  const rows = results.slice(0, leaseStatements.length).flatMap((r) => r.rows as unknown as ClaimedRow[]);
  const webhooks = (results.at(-1)?.rows ?? []) as unknown as WebhookRow[];
  const targets = new Map(webhooks.map((w) => [w.id, targetOf(w, now)]));
  const deliveries = rows.map((r) => claimedDelivery(r, targets.get(r.webhook_id), workerId));
  const shortfall = deliveries.length < take.reduce((n, t) => n + t.count + t.extra, 0);
  const leasedNow = new Map<string, number>();
  for (const d of deliveries) leasedNow.set(d.webhookId, (leasedNow.get(d.webhookId) ?? 0) + 1);
  const waitingWebhooks = waitingAfter(leasedNow);
  return {
    deliveries,
    nextDueAt,
    leftOver: share.leftOver || shortfall || lost > 0,
    waitingWebhooks,
    othersLeased: othersRows && othersLeasedMaps(othersRows),
  };
}

function othersLeasedMaps(
  rows: ReadonlyArray<{ webhook_id: string; org_id: string; n: number | string }>,
): NonNullable<Claim['othersLeased']> {
  const webhooks = new Map<string, number>();
  const orgs = new Map<string, number>();
  for (const r of rows) {
    const n = Number(r.n);
    webhooks.set(r.webhook_id, (webhooks.get(r.webhook_id) ?? 0) + n);
    orgs.set(r.org_id, (orgs.get(r.org_id) ?? 0) + n);
  }
  return { webhooks, orgs };
}

/**
 * Every live lease of the other workers, per webhook and organization (docs/architecture.md#leasing-ahead),
 * through `deliveries_leased_webhook`: about as many rows as attempts in flight. Exported for the
 * plan test (test/store/claimPlan.test.ts).
 */
export function othersLeasedQuery(workerId: string, now: number) {
  return sql<{ webhook_id: string; org_id: string; n: number | string }>`
    SELECT webhook_id, org_id, count(*) AS n FROM deliveries
    WHERE ${othersLease({ workerId, now })}
    GROUP BY webhook_id, org_id`;
}

/** A live lease of another worker: what othersLeasedQuery counts and othersHold looks for. */
function othersLease(p: { workerId: unknown; now: unknown }) {
  return sql<boolean>`lease_until >= ${p.now} AND (lease_owner IS NULL OR lease_owner <> ${p.workerId})`;
}

/** What a lease statement needs besides its webhooks: the lease, the caps, what counts as in flight. */
interface LeaseRules {
  workerId: string;
  now: number;
  until: number;
  perWebhookCap: number;
  inFlight: ReturnType<typeof inFlightLease>;
}

/**
 * SQLite's lease step, one statement per webhook of the claim (its one writer runs them one after
 * another, so each counts what the ones before it leased). The webhook's due deliveries in due
 * order, as many as its share (`count`), its room and its organization's room all allow, counted
 * when the statement starts. The rooms are a `LIMIT` expression, evaluated once: the same statement
 * written with CTEs and `row_number()` cost 195 µs where this costs 29 (a table of 20,000 pending
 * deliveries, 4 leased per statement), about 3 ms per claim of 16 webhooks. `max(0, …)`: a negative
 * `LIMIT` is no limit in SQLite. Exported for the plan test (test/store/claimPlan.test.ts).
 */
export function leaseWebhookStatement(
  hooks: DialectHooks,
  p: LeaseRules & { webhookId: string; orgId: string; count: number; extra?: number; orgCap: number },
) {
  const { inFlight } = p;
  const extra = sql`(CASE WHEN ${othersHold(p)} THEN 0 ELSE CAST(${p.extra ?? 0} AS integer) END)`;
  return sql<ClaimedRow>`
    UPDATE deliveries SET lease_owner = ${p.workerId}, lease_until = ${p.until}
    WHERE id IN (
      SELECT id FROM deliveries ${indexedBy(hooks, 'deliveries_pending_webhook')}
      WHERE status = ${PENDING} AND webhook_id = ${p.webhookId} AND next_attempt_at <= ${p.now}
        AND (lease_until IS NULL OR lease_until < ${p.now})
      ORDER BY next_attempt_at
      LIMIT max(0, min(CAST(${p.count} AS integer) + ${extra},
        CAST(${p.perWebhookCap} AS integer) + ${extra}
          - (SELECT count(*) FROM deliveries WHERE webhook_id = ${p.webhookId} AND ${inFlight}),
        CAST(${p.orgCap} AS integer) + ${extra}
          - (SELECT count(*) FROM deliveries WHERE org_id = ${p.orgId} AND ${inFlight}))))
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt`;
}

/**
 * Whether another worker holds a live lease of the webhook. Only a webhook nobody else holds is
 * leased ahead (docs/architecture.md#leasing-ahead): a worker sends what it holds ahead only below
 * the cap less the others' leases, so two workers each holding some ahead could each wait for the
 * other forever. With one holder, the others' leases were counted against its queue when they were
 * taken, and it always has room to send.
 */
function othersHold(p: { webhookId: unknown; workerId: unknown; now: unknown }) {
  return sql<boolean>`EXISTS (SELECT 1 FROM deliveries WHERE webhook_id = ${p.webhookId} AND ${othersLease(p)})`;
}

/**
 * PostgreSQL's lease step: every webhook of the claim in one statement (SQLite runs one statement
 * per webhook, in its one writer). Only the webhooks whose lock the batch got, and whose
 * organization's lock it got where that cap binds (`runhook.locked`, DialectHooks.runBatch): the
 * others are another claim's now. Each webhook's due deliveries come in due order, up to its share
 * (`take`), skipping rows another transaction holds; they are then kept within the webhook's room
 * and, across the webhooks of one organization taken in turns, within the organization's room
 * (`orgCap`), both counted at the statement's start, after the locks were granted. One plan per
 * claim instead of one per webhook: the batch holds its locks for less time, which is what a
 * hand-off trying them waits on (docs/architecture.md#hand-off). Exported for the plan test
 * (test/store/claimPlan.test.ts).
 */
export function leaseAllStatement(
  p: LeaseRules & {
    take: ReadonlyArray<{ webhookId: string; orgId: string; count: number; extra?: number; orgCap: number }>;
  },
) {
  // Each entry: [webhook, organization, count, position, extra, organization cap]. `extra` (leasing
  // ahead) is added to its count and to both rooms, the organization's by the sum of its webhooks'
  // extras. An entry whose organization cap is UNBOUND needs no organization lock.
  const list = JSON.stringify(
    p.take.map((t, i) => [t.webhookId, t.orgId, t.count + (t.extra ?? 0), i, t.extra ?? 0, t.orgCap]),
  );
  const { inFlight } = p;
  // Outside a batch with locks (the plan test) the setting is empty: every entry is taken.
  const locked = sql`NULLIF(current_setting('runhook.locked', true), '')`;
  const has = (key: unknown) => sql`jsonb_exists(CAST(${locked} AS jsonb), ${key})`;
  return sql<ClaimedRow>`
    WITH t AS (
      SELECT e->>0 AS webhook_id, e->>1 AS org_id, CAST(e->>2 AS integer) AS n, CAST(e->>3 AS integer) AS pos,
             CAST(e->>4 AS integer) AS extra, CAST(e->>5 AS integer) AS org_cap
      FROM jsonb_array_elements(CAST(${list} AS jsonb)) AS e
      WHERE ${locked} IS NULL OR (${has(sql`'w:' || (e->>0)`)}
        AND (CAST(e->>5 AS integer) >= ${UNBOUND} OR ${has(sql`'o:' || (e->>1)`)}))
    ),
    webhook_room AS (
      SELECT t.*, CAST(${p.perWebhookCap} AS integer)
               + (CASE WHEN ${othersHold({ webhookId: sql.ref('t.webhook_id'), workerId: p.workerId, now: p.now })} THEN 0 ELSE t.extra END)
               - (SELECT count(*) FROM deliveries WHERE webhook_id = t.webhook_id AND ${inFlight}) AS room
      FROM t
    ),
    org_room AS (
      SELECT o.org_id, o.org_cap + o.extra
               - (SELECT count(*) FROM deliveries WHERE org_id = o.org_id AND ${inFlight}) AS room
      FROM (SELECT org_id, max(org_cap) AS org_cap, sum(extra) AS extra FROM t GROUP BY org_id) o
    ),
    due AS (
      SELECT d.id, w.org_id, w.pos, w.room,
             row_number() OVER (PARTITION BY w.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
      FROM webhook_room w CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM deliveries
        WHERE status = ${PENDING} AND webhook_id = w.webhook_id AND next_attempt_at <= ${p.now}
          AND (lease_until IS NULL OR lease_until < ${p.now})
        ORDER BY next_attempt_at
        LIMIT w.n
        FOR UPDATE SKIP LOCKED
      ) d
    ),
    in_org AS (
      SELECT id, org_id, row_number() OVER (PARTITION BY org_id ORDER BY rn, pos) AS rn_org
      FROM due WHERE rn <= room
    ),
    picked AS (
      SELECT i.id FROM in_org i JOIN org_room o ON o.org_id = i.org_id WHERE i.rn_org <= o.room
    )
    UPDATE deliveries SET lease_owner = ${p.workerId}, lease_until = ${p.until}
    -- An array, not IN (subquery): the rows are found by primary key, never by a hash join over
    -- the table, which the planner's guess of the list's size can make look cheaper.
    WHERE id = ANY(ARRAY(SELECT id FROM picked))
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt`;
}

/**
 * The hand-off where the new delivery cannot be leased in its own write (PostgreSQL: one statement
 * cannot see a concurrent claim's leases; docs/architecture.md#hand-off): right after its commit,
 * one batch leases that delivery to the taker, under its webhook's and organization's claim locks
 * if they are free (not waiting for them: a claim under way takes the delivery instead), with the
 * claim's rules: the webhook and the
 * organization below their caps and nothing of the webhook due and unleased before it. Null when
 * it was not leased.
 */
export async function leaseHandedOff(
  ctx: Ctx,
  taker: HandoffTaker,
  d: { deliveryId: string; webhookId: string; orgId: string; now: number },
): Promise<ClaimedDelivery | null> {
  const { hooks } = ctx;
  const db = hooks.workerDb ?? ctx.db;
  const until = d.now + taker.leaseMs;
  const room = handoffRoom(hooks, {
    ...d,
    workerId: taker.workerId,
    until,
    idleIds: taker.idleIds(),
    webhookCap: taker.perWebhookCap,
    orgCap: taker.perOrgCap,
  });
  const lease = sql<ClaimedRow>`
    UPDATE deliveries SET lease_owner = ${taker.workerId}, lease_until = ${until}
    WHERE id = ${d.deliveryId} AND status = ${PENDING} AND lease_until IS NULL
      AND current_setting('runhook.claim_lock', true) = 'true' AND ${room}
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt, lease_owner`.compile(db);
  await hooks.workerLocks?.hold(taker.workerId);
  const results = await hooks.runBatch([lease, readWebhooksList(ctx, [d.webhookId])], {
    durable: false,
    locks: [`w:${d.webhookId}`, `o:${d.orgId}`],
  });
  return handedOffDelivery(results, taker.workerId, d.now);
}

/**
 * Whether a new delivery may be handed off (docs/architecture.md#hand-off): its webhook and
 * organization below their caps, counted as a claim counts them, and no other delivery of the
 * webhook due and unleased (it would be overtaken). Values may be slots (SQLite's compiled unit).
 */
export function handoffRoom(
  hooks: DialectHooks,
  p: {
    deliveryId: unknown;
    webhookId: unknown;
    orgId: unknown;
    workerId: unknown;
    now: unknown;
    until: unknown;
    idleIds: readonly string[] | { json: unknown };
    webhookCap: unknown;
    orgCap: unknown;
  },
) {
  const inFlight = inFlightLease(hooks, p);
  return sql<boolean>`(SELECT count(*) FROM deliveries WHERE webhook_id = ${p.webhookId} AND ${inFlight}) < ${p.webhookCap}
    AND (SELECT count(*) FROM deliveries WHERE org_id = ${p.orgId} AND ${inFlight}) < ${p.orgCap}
    AND NOT EXISTS (SELECT 1 FROM deliveries w ${indexedBy(hooks, 'deliveries_pending_webhook')}
      WHERE w.status = ${PENDING} AND w.webhook_id = ${p.webhookId} AND w.next_attempt_at <= ${p.now}
        AND (w.lease_until IS NULL OR w.lease_until < ${p.now}) AND w.id <> ${p.deliveryId})`;
}

/**
 * A hand-off batch's answer, [the delivery with its lease_owner, its webhook], as the worker sends
 * it; null unless the delivery was leased to `workerId`.
 */
export function handedOffDelivery(
  results: ReadonlyArray<{ rows: Record<string, unknown>[] }>,
  workerId: string,
  now: number,
): ClaimedDelivery | null {
  const row = results[0]?.rows[0] as unknown as (ClaimedRow & { lease_owner: string | null }) | undefined;
  const w = results[1]?.rows[0] as unknown as WebhookRow | undefined;
  if (row?.lease_owner !== workerId) return null;
  return claimedDelivery(row, w && targetOf(w, now), workerId);
}

const WEBHOOK_TARGET_COLUMNS = [
  'id',
  'url',
  'format',
  'headers',
  'secret_enc',
  'previous_secret_enc',
  'previous_secret_until',
  'signing_key_enc',
  'previous_signing_key_enc',
  'previous_signing_key_until',
  'is_enabled',
  'deleted_at',
] as const;

/** The webhooks' send targets and state, read in a hand-off's unit (`ids`: values or slots). */
export function readWebhooksQuery(db: Ctx['db'], ids: readonly unknown[]) {
  return db
    .selectFrom('webhooks')
    .select(WEBHOOK_TARGET_COLUMNS)
    .where('id', 'in', ids as string[])
    .compile();
}

/**
 * The same read in a claim's batch: the ids as one JSON list, so the text is the same for any
 * number of webhooks and is compiled once per store (statementShape); building it per claim was
 * about 2 % of the main thread under API load.
 */
function readWebhooksList(ctx: Ctx, ids: readonly string[]): CompiledQuery {
  const slots = new Slots();
  const list = slots.one('webhook_ids', JSON.stringify(ids));
  const [query] = filledShape(ctx, 'claim:readWebhooks', slots, () => {
    const each =
      ctx.hooks.dialect === 'sqlite'
        ? sql`SELECT value FROM json_each(${list})`
        : sql`SELECT jsonb_array_elements_text(CAST(${list} AS jsonb))`;
    return [
      ctx.db
        .selectFrom('webhooks')
        .select(WEBHOOK_TARGET_COLUMNS)
        .where(sql<boolean>`id IN (${each})`)
        .compile(),
    ];
  });
  return query as CompiledQuery;
}

/** A leased row as the worker sends it (`w`: its webhook, undefined when the row is gone). */
function claimedDelivery(
  r: ClaimedRow,
  w: ReturnType<typeof targetOf> | undefined,
  workerId: string,
): ClaimedDelivery {
  return {
    deliveryId: r.id,
    eventId: r.event_id,
    orgId: r.org_id,
    webhookId: r.webhook_id,
    body: r.body,
    attemptCount: Number(r.attempt_count),
    retriesDone: Number(r.retries_done),
    trigger: r.next_trigger as AttemptTrigger,
    finalAttempt: Number(r.final_attempt) === 1,
    leaseOwner: workerId,
    // Test deliveries are sent even to a disabled webhook (people test before they switch it on).
    // Deliveries of one webhook share its target object: nothing downstream changes it.
    target: !w?.live ? DELETED : w.enabled || r.next_trigger === ATTEMPT_TRIGGER.test ? w.target : DISABLED,
  };
}

/**
 * A live lease that counts as an attempt in flight: all of them but this worker's settled ones
 * (`idleIds`, as one JSON array parameter, so the SQL text does not depend on how many). Such a
 * lease is this worker's and older than this claim (`until` is the lease this claim gives): a lease
 * another worker took over once it ran out, or one this claim's earlier statements just gave again
 * to a settled retry that is due, is an attempt in flight and counts.
 */
export function inFlightLease(
  hooks: DialectHooks,
  p: { workerId: unknown; now: unknown; until: unknown; idleIds: readonly string[] | { json: unknown } },
) {
  const json = 'json' in p.idleIds ? p.idleIds.json : JSON.stringify(p.idleIds);
  const ids =
    hooks.dialect === 'sqlite'
      ? sql`SELECT value FROM json_each(${json})`
      : sql`SELECT jsonb_array_elements_text(CAST(${json} AS jsonb))`;
  return sql`lease_until >= ${p.now}
    AND (lease_owner IS NULL OR lease_owner <> ${p.workerId} OR lease_until >= ${p.until} OR id NOT IN (${ids}))`;
}

/**
 * For each webhook with pending deliveries: its organization, its earliest unleased due time and
 * how many are due now (up to the cap). Exported for the plan test (test/store/claimPlan.test.ts).
 * The count reads its rows in index order (ORDER BY next_attempt_at): without it PostgreSQL may
 * count by scanning the table from its start, past every delivery already sent, which cost 6 ms
 * per claim midway through a 10,000-delivery drain.
 */
export function backlogQuery(hooks: DialectHooks, now: number, perWebhookCap: number) {
  const pendingIndex = indexedBy(hooks, 'deliveries_pending_webhook');
  return sql<{
    webhook_id: string;
    org_id: string;
    first_due: number | string | null;
    due_now: number | string;
  }>`
    WITH RECURSIVE pending_webhooks(webhook_id) AS (
      SELECT (SELECT webhook_id FROM deliveries ${pendingIndex} WHERE status = ${PENDING} ORDER BY webhook_id LIMIT 1)
      UNION ALL
      SELECT (SELECT d.webhook_id FROM deliveries d ${pendingIndex}
              WHERE d.status = ${PENDING} AND d.webhook_id > p.webhook_id
              ORDER BY d.webhook_id LIMIT 1)
      FROM pending_webhooks p WHERE p.webhook_id IS NOT NULL
    )
    SELECT p.webhook_id, w.org_id,
      (SELECT d.next_attempt_at FROM deliveries d ${pendingIndex}
       WHERE d.status = ${PENDING} AND d.webhook_id = p.webhook_id
         AND (d.lease_until IS NULL OR d.lease_until < ${now})
       ORDER BY d.next_attempt_at LIMIT 1) AS first_due,
      (SELECT count(*) FROM (
         SELECT 1 FROM deliveries d ${pendingIndex}
         WHERE d.status = ${PENDING} AND d.webhook_id = p.webhook_id AND d.next_attempt_at <= ${now}
           AND (d.lease_until IS NULL OR d.lease_until < ${now})
         ORDER BY d.next_attempt_at
         LIMIT ${perWebhookCap}) due) AS due_now
    FROM pending_webhooks p JOIN webhooks w ON w.id = p.webhook_id`;
}

function targetOf(w: WebhookRow, now: number) {
  return { live: w.deleted_at === null, enabled: Number(w.is_enabled) === 1, target: sendTarget(w, now) };
}

const DELETED = Object.freeze({ unsendable: 'webhook_deleted' as const });
const DISABLED = Object.freeze({ unsendable: 'webhook_disabled' as const });

interface WebhookRow extends SendTargetRow {
  id: string;
  is_enabled: number | string;
  deleted_at: number | string | null;
}

interface ClaimedRow {
  id: string;
  event_id: string;
  org_id: string;
  webhook_id: string;
  body: string;
  attempt_count: number | string;
  retries_done: number | string;
  next_trigger: string;
  final_attempt: number | string;
}
