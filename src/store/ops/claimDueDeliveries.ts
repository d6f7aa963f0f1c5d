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
 *    transaction first takes an advisory lock per webhook, and per organization whose cap binds,
 *    in one order of keys, waiting for a claim that holds one to commit (up to CLAIM_LOCK_WAIT_MS):
 *    claims for other webhooks and organizations never queue behind each other, and one that
 *    overlaps another follows it instead of coming back empty (docs/architecture.md#claims).
 *    SQLite's one writer serialises everything anyway. When anything is or will be held ahead, the
 *    transaction first counts every other worker's leases, by which the worker sends what it holds
 *    ahead. The statements are in claimStatements.ts, the webhooks' send targets in claimTargets.ts.
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
import type { Claim } from '../store.js';
import {
  backlogQuery,
  type ClaimedRow,
  inFlightLease,
  leaseAllStatement,
  leaseWebhookStatement,
  othersLeasedMaps,
  othersLeasedQuery,
  UNBOUND,
} from './claimStatements.js';
import { claimedDelivery, readWebhooksList, targetOf, type WebhookRow } from './claimTargets.js';
import type { Ctx, DialectHooks } from './context.js';
import { recordLostAttempts } from './recordLostAttempts.js';

// The hand-off (handoff.ts) and its webhook read, for finishedRunAtOnce.ts, which imports them here.
export { readWebhooksQuery } from './claimTargets.js';
export { handedOffDelivery, handoffRoom, leaseHandedOff } from './handoff.js';

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

/** How often a worker looks for the leases of workers that are gone (docs/delivery.md#leases-and-at-least-once). */
const DEAD_OWNER_CHECK_MS = 1_000;

/**
 * How long a claim waits for its webhooks' and organizations' locks while other claims hold them
 * (docs/architecture.md#claims); past it the claim comes back empty, its work left over.
 */
const CLAIM_LOCK_WAIT_MS = 200;
/** PostgreSQL's error code for a lock wait past lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';

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

export async function claimDueDeliveries(ctx: Ctx, input: ClaimInput): Promise<Claim> {
  const { hooks } = ctx;
  const db = hooks.workerDb ?? ctx.db;
  const { workerId, now, limit, leaseMs, perWebhookCap, perOrgCap } = input;
  const until = now + leaseMs;
  const prefetch = input.prefetch && input.prefetch.perWebhook > 0 ? input.prefetch : null;
  // Due deliveries are counted up to what one claim could lease of a webhook.
  const dueCountLimit = perWebhookCap + (prefetch?.perWebhook ?? 0);
  const inFlight = inFlightLease(hooks, { workerId, now, until, idleIds: input.idleIds ?? [] });

  const { lost, backlog, orgLeased, leaseEnds } = await readPlan(ctx, input, inFlight, dueCountLimit);

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
      missed: lost > 0,
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
  // PostgreSQL: the locks this claim takes (docs/architecture.md#claims): each webhook's, and each
  // organization's whose cap binds.
  const locks = [
    ...take.map((t) => `w:${t.webhookId}`),
    ...take.filter((t) => t.orgCap !== UNBOUND).map((t) => `o:${t.orgId}`),
  ];
  const results = await leaseBatch(ctx, [...others, ...leaseStatements, readWebhooks], locks);
  if (results === null)
    return {
      deliveries: [],
      nextDueAt,
      leftOver: true,
      missed: true,
      waitingWebhooks: waitingAfter(new Map()),
    };
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
    missed: lost > 0,
    waitingWebhooks,
    othersLeased: othersRows && othersLeasedMaps(othersRows),
  };
}

/**
 * 0. A dead worker's leases that ran out: their attempts go into the history as worker_lost before
 * step 3 can lease those deliveries again. Alongside the plan, which counts only live leases and
 * sees these deliveries as unleased either way: no extra round trip per claim.
 * 1. The plan: the live leases per webhook and organization, and the backlog.
 */
async function readPlan(
  ctx: Ctx,
  input: ClaimInput,
  inFlight: ReturnType<typeof inFlightLease>,
  dueCountLimit: number,
): Promise<{
  lost: number;
  backlog: WebhookBacklog[];
  orgLeased: Map<string, number>;
  leaseEnds: number | null;
}> {
  const { hooks } = ctx;
  const db = hooks.workerDb ?? ctx.db;
  const { workerId, now, leaseMs } = input;
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
  return { lost, backlog, orgLeased, leaseEnds };
}

/**
 * 3. The lease batch, under the claim's locks, waiting for them up to CLAIM_LOCK_WAIT_MS (another
 * claim holds them only for its own batch); null when that ran out.
 */
async function leaseBatch(
  ctx: Ctx,
  statements: CompiledQuery[],
  locks: string[],
): Promise<Array<{ rows: Record<string, unknown>[] }> | null> {
  try {
    return await ctx.hooks.runBatch(statements, {
      durable: false,
      locks,
      waitForLocksMs: CLAIM_LOCK_WAIT_MS,
    });
  } catch (err) {
    if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) return null;
    throw err;
  }
}
