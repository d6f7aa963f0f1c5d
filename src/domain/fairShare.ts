/**
 * How a worker shares its free slots between organizations and their webhooks
 * (docs/operations.md#fairness-and-limits). Pure: the store reads the backlog, this decides.
 *
 * - A webhook never has more than `webhookCap` attempts in flight, an organization never more than
 *   `orgCap`, counted across every worker (the `leased` numbers).
 * - Slots go one at a time to the organization with the fewest attempts in flight, and inside it
 *   to the webhook with the fewest (ties: the longest-waiting delivery first). Claims therefore
 *   alternate across organizations and webhooks, and a deep backlog on one webhook or in one
 *   organization never hides another's new delivery.
 * - Webhooks and organizations at their cap are left out entirely: they cost nothing until a slot
 *   of theirs frees up, and they never make the worker wake early.
 */

/** One webhook with pending deliveries, as the store sees it at `now`. */
export interface WebhookBacklog {
  webhookId: string;
  orgId: string;
  /** When its earliest pending delivery that nobody holds a lease on is (or was) due; null when none. */
  firstDueAt: number | null;
  /** How many of its deliveries are due and unleased now, counted up to the webhook cap. */
  dueNow: number;
  /** Its attempts in flight (live leases), across all workers. */
  leased: number;
}

export interface FairShareInput {
  backlog: readonly WebhookBacklog[];
  /** Attempts in flight per organization, across all workers. */
  orgLeased: ReadonlyMap<string, number>;
  now: number;
  /** Free slots of this worker. */
  limit: number;
  webhookCap: number;
  orgCap: number;
  /** Organizations whose cap is not `orgCap` for this share (one borrowing idle slots). */
  orgCaps?: ReadonlyMap<string, number>;
}

export interface FairShare {
  /** How many due deliveries to claim from each webhook, in the order they were granted. */
  take: Array<{ webhookId: string; orgId: string; count: number }>;
  /**
   * When a delivery of a webhook and organization below their caps becomes due next (after `now`);
   * null when none will. Work held back by a cap is not in it: freed slots wake the worker instead.
   */
  nextDueAt: number | null;
  /** Due deliveries were left for lack of free slots: claim again as soon as slots free up. */
  leftOver: boolean;
}

interface Candidate {
  backlog: WebhookBacklog;
  firstDueAt: number;
  room: number;
  granted: number;
}

/** Which of two waited longer (then a stable order by id, so equal cases always resolve alike). */
function before(
  a: { firstDueAt?: number; oldest?: number; orgId?: string; backlog?: WebhookBacklog },
  b: { firstDueAt?: number; oldest?: number; orgId?: string; backlog?: WebhookBacklog },
): boolean {
  const ta = a.oldest ?? a.firstDueAt ?? 0;
  const tb = b.oldest ?? b.firstDueAt ?? 0;
  if (ta !== tb) return ta < tb;
  return (a.orgId ?? a.backlog?.webhookId ?? '') < (b.orgId ?? b.backlog?.webhookId ?? '');
}

export function shareSlots(input: FairShareInput): FairShare {
  const { now, webhookCap, orgCap } = input;
  const orgRoom = new Map<string, number>();
  const roomOf = (orgId: string) => {
    let room = orgRoom.get(orgId);
    if (room === undefined) {
      room = (input.orgCaps?.get(orgId) ?? orgCap) - (input.orgLeased.get(orgId) ?? 0);
      orgRoom.set(orgId, room);
    }
    return room;
  };

  let nextDueAt: number | null = null;
  const byOrg = new Map<string, Candidate[]>();
  for (const b of input.backlog) {
    const room = webhookCap - b.leased;
    if (b.firstDueAt === null || room <= 0 || roomOf(b.orgId) <= 0) continue;
    if (b.firstDueAt > now) {
      nextDueAt = nextDueAt === null ? b.firstDueAt : Math.min(nextDueAt, b.firstDueAt);
      continue;
    }
    if (b.dueNow <= 0) continue;
    const list = byOrg.get(b.orgId) ?? [];
    list.push({ backlog: b, firstDueAt: b.firstDueAt, room: Math.min(room, b.dueNow), granted: 0 });
    byOrg.set(b.orgId, list);
  }

  // Water-filling: each slot goes to the organization with the fewest attempts in flight (counting
  // what this claim already granted), and inside it to the webhook with the fewest; ties go to the
  // delivery that has waited longest. A flooded organization or webhook only gets what the others
  // leave, however old its backlog.
  const orgs = [...byOrg.entries()].map(([orgId, webhooks]) => ({
    orgId,
    webhooks,
    inFlight: input.orgLeased.get(orgId) ?? 0,
    oldest: Math.min(...webhooks.map((c) => c.firstDueAt)),
  }));
  const order: Candidate[] = [];
  let left = input.limit;
  while (left > 0) {
    let org: (typeof orgs)[number] | undefined;
    for (const o of orgs) {
      if (roomOf(o.orgId) <= 0 || !o.webhooks.some((c) => c.granted < c.room)) continue;
      if (!org || o.inFlight < org.inFlight || (o.inFlight === org.inFlight && before(o, org))) org = o;
    }
    if (!org) break;
    let pick: Candidate | undefined;
    for (const c of org.webhooks) {
      if (c.granted >= c.room) continue;
      const load = c.backlog.leased + c.granted;
      const best = pick ? pick.backlog.leased + pick.granted : Number.POSITIVE_INFINITY;
      if (!pick || load < best || (load === best && before(c, pick))) pick = c;
    }
    const c = pick as Candidate;
    if (c.granted === 0) order.push(c);
    c.granted++;
    org.inFlight++;
    orgRoom.set(org.orgId, roomOf(org.orgId) - 1);
    left--;
  }

  const leftOver = orgs.some((org) => roomOf(org.orgId) > 0 && org.webhooks.some((c) => c.granted < c.room));
  return {
    take: order.map((c) => ({ webhookId: c.backlog.webhookId, orgId: c.backlog.orgId, count: c.granted })),
    nextDueAt,
    leftOver,
  };
}

export interface PrefetchInput {
  backlog: readonly WebhookBacklog[];
  /** What shareSlots granted (each webhook's count within its room). */
  take: FairShare['take'];
  now: number;
  /** This worker's slots left after the share. */
  limit: number;
  /** How many deliveries of one webhook this worker may hold leased ahead. */
  perWebhook: number;
  /** How many it holds ahead now, per webhook. */
  queued: ReadonlyMap<string, number>;
  /** Attempts in flight per organization, across all workers (as for shareSlots). */
  orgLeased: ReadonlyMap<string, number>;
  orgCap: number;
  orgCaps?: ReadonlyMap<string, number>;
}

/**
 * Leasing ahead (docs/architecture.md#leasing-ahead): the slots the fair share left unused go, one
 * at a time in turn, to webhooks with more due deliveries than they were granted (the longest
 * waiting first), each up to `perWebhook` held ahead. They never take a slot the share could give:
 * only what is left. A webhook whose organization is at its cap gets none: its queue would take
 * each slot the organization frees before the share could give it to another of its webhooks.
 * Returns the extra count per webhook.
 */
export function sharePrefetch(input: PrefetchInput): Map<string, number> {
  const extra = new Map<string, number>();
  let left = input.limit;
  if (left <= 0 || input.perWebhook <= 0) return extra;
  const granted = new Map(input.take.map((t) => [t.webhookId, t.count]));
  const orgBusy = new Map(input.orgLeased);
  for (const t of input.take) orgBusy.set(t.orgId, (orgBusy.get(t.orgId) ?? 0) + t.count);
  const open = input.backlog
    .filter((b) => b.firstDueAt !== null && b.firstDueAt <= input.now)
    .filter((b) => (orgBusy.get(b.orgId) ?? 0) < (input.orgCaps?.get(b.orgId) ?? input.orgCap))
    .map((b) => ({
      b,
      room: Math.min(
        b.dueNow - (granted.get(b.webhookId) ?? 0),
        input.perWebhook - (input.queued.get(b.webhookId) ?? 0),
      ),
    }))
    .filter((c) => c.room > 0)
    .sort((x, y) =>
      before(
        { firstDueAt: x.b.firstDueAt ?? 0, backlog: x.b },
        { firstDueAt: y.b.firstDueAt ?? 0, backlog: y.b },
      )
        ? -1
        : 1,
    );
  while (left > 0) {
    let gave = false;
    for (const c of open) {
      const n = extra.get(c.b.webhookId) ?? 0;
      if (left === 0 || n >= c.room) continue;
      extra.set(c.b.webhookId, n + 1);
      left--;
      gave = true;
    }
    if (!gave) break;
  }
  return extra;
}
