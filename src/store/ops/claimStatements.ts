/**
 * The statements of a claim (claimDueDeliveries.ts, docs/architecture.md#claims): the plan's
 * backlog, the live leases that count as attempts in flight, the other workers' leases (leasing
 * ahead), and the lease step, one statement per claim on PostgreSQL and one per webhook on SQLite.
 */
import { sql } from 'kysely';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { Claim } from '../store.js';
import { type DialectHooks, indexedBy } from './context.js';

export const PENDING = sql.lit(DELIVERY_STATUS.pending);

/** An organization cap that never binds: the organization borrows (see orgBorrow). */
export const UNBOUND = 1_000_000_000;

export function othersLeasedMaps(
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
export interface LeaseRules {
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
      -- An organization borrowing idle slots (UNBOUND) has no room to count: its leases are many.
      SELECT o.org_id, CASE WHEN o.org_cap >= ${UNBOUND} THEN o.org_cap ELSE o.org_cap + o.extra
               - (SELECT count(*) FROM deliveries WHERE org_id = o.org_id AND ${inFlight}) END AS room
      FROM (SELECT org_id, max(org_cap) AS org_cap, sum(extra) AS extra FROM t GROUP BY org_id) o
    ),
    due AS (
      SELECT d.tid, w.org_id, w.pos, w.room,
             row_number() OVER (PARTITION BY w.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
      FROM webhook_room w CROSS JOIN LATERAL (
        SELECT ctid AS tid, id, next_attempt_at FROM deliveries
        WHERE status = ${PENDING} AND webhook_id = w.webhook_id AND next_attempt_at <= ${p.now}
          AND (lease_until IS NULL OR lease_until < ${p.now})
        ORDER BY next_attempt_at
        LIMIT w.n
        FOR UPDATE SKIP LOCKED
      ) d
    ),
    in_org AS (
      SELECT tid, org_id, row_number() OVER (PARTITION BY org_id ORDER BY rn, pos) AS rn_org
      FROM due WHERE rn <= room
    ),
    picked AS (
      SELECT i.tid FROM in_org i JOIN org_room o ON o.org_id = i.org_id WHERE i.rn_org <= o.room
    )
    UPDATE deliveries SET lease_owner = ${p.workerId}, lease_until = ${p.until}
    -- The rows as locked above, by their physical address (a TID scan): by primary key, the index
    -- was read through every dead version of those rows, which no bitmap scan marks dead; and an
    -- array, not IN (subquery), so that no guess of its size makes a hash join over the table look
    -- cheaper.
    WHERE ctid = ANY(ARRAY(SELECT tid FROM picked))
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt`;
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
  const unleased = sql`d.status = ${PENDING} AND d.webhook_id = p.webhook_id
         AND (d.lease_until IS NULL OR d.lease_until < ${now})`;
  // PostgreSQL reads each webhook's first unleased deliveries once for both figures: the front of
  // its range in the index is where the dead versions of what was just leased and sent wait for
  // vacuum, and each read walks them (docs/architecture.md#claims). SQLite's pages hold no dead
  // rows; its two probes stay (it has no LATERAL).
  const figures =
    hooks.dialect === 'postgres'
      ? sql`f.first_due, f.due_now
    FROM pending_webhooks p JOIN webhooks w ON w.id = p.webhook_id
    CROSS JOIN LATERAL (
      SELECT min(u.next_attempt_at) AS first_due, count(*) FILTER (WHERE u.next_attempt_at <= ${now}) AS due_now
      FROM (SELECT d.next_attempt_at FROM deliveries d WHERE ${unleased}
            ORDER BY d.next_attempt_at LIMIT ${Math.max(1, perWebhookCap)}) u) f`
      : sql`(SELECT d.next_attempt_at FROM deliveries d ${pendingIndex} WHERE ${unleased}
       ORDER BY d.next_attempt_at LIMIT 1) AS first_due,
      (SELECT count(*) FROM (
         SELECT 1 FROM deliveries d ${pendingIndex}
         WHERE ${unleased} AND d.next_attempt_at <= ${now}
         ORDER BY d.next_attempt_at
         LIMIT ${perWebhookCap}) due) AS due_now
    FROM pending_webhooks p JOIN webhooks w ON w.id = p.webhook_id`;
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
    SELECT p.webhook_id, w.org_id, ${figures}`;
}

export interface ClaimedRow {
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
