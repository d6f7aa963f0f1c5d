import { sql } from 'kysely';
import {
  ATTEMPT_TRIGGER,
  type AttemptTrigger,
  DELIVERY_STATUS,
  type WebhookFormat,
} from '../../domain/types.js';
import type { ClaimedDelivery } from '../store.js';
import type { Ctx } from './context.js';

/**
 * Claims up to `limit` due deliveries for one worker, leasing them until `now + leaseMs`.
 * A webhook never has more than `perWebhookCap` leased deliveries at once, across all workers:
 * claims are serialised (a transaction lock on SQLite, an advisory lock on PostgreSQL), and a
 * webhook at its cap is left out of the scan, so one slow endpoint cannot crowd out the rest.
 * Candidates are taken round-robin across webhooks (`ORDER BY rn`).
 *
 * Leases are counted once, through `deliveries_lease` alone (`lease_until >= now`, no status
 * test): only a pending delivery ever holds a lease, since every write that ends one
 * (recordResults, redeliver) clears it. Testing `status` too, or grouping in the same query, made
 * SQLite walk every pending row by another index, so each claim cost O(backlog); MATERIALIZED
 * (SQLite ≥ 3.35, PostgreSQL ≥ 12) keeps the planner from folding the CTE back in.
 */
export async function claimDueDeliveries(
  { db, hooks }: Ctx,
  input: { workerId: string; now: number; limit: number; leaseMs: number; perWebhookCap: number },
): Promise<ClaimedDelivery[]> {
  const { workerId, now, limit, leaseMs, perWebhookCap: cap } = input;
  const until = now + leaseMs;
  const lockClause = hooks.skipLocked ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  // Pick and lease in one statement, then read each webhook involved once (the leases just written
  // are the ones with this owner and this exact end): one batch, one round trip on SQLite.
  const pickAndLease = sql`
    WITH leased_rows AS MATERIALIZED (
      SELECT webhook_id FROM deliveries WHERE lease_until >= ${now}
    ),
    leased AS (SELECT webhook_id, count(*) AS n FROM leased_rows GROUP BY webhook_id),
    picked AS (
      SELECT c.id FROM (
        SELECT d.id, d.webhook_id,
               row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
        FROM (
          SELECT id, webhook_id, next_attempt_at FROM deliveries
          WHERE status = ${sql.lit(DELIVERY_STATUS.pending)} AND next_attempt_at <= ${now}
            AND (lease_until IS NULL OR lease_until < ${now})
            AND webhook_id NOT IN (SELECT webhook_id FROM leased WHERE n >= ${cap})
          ORDER BY next_attempt_at
          LIMIT ${limit * 4}
          ${lockClause}
        ) d
      ) c
      LEFT JOIN leased f ON f.webhook_id = c.webhook_id
      WHERE c.rn <= ${cap} - COALESCE(f.n, 0)
      ORDER BY c.rn
      LIMIT ${limit}
    )
    UPDATE deliveries SET lease_owner = ${workerId}, lease_until = ${until}
    WHERE id IN (SELECT id FROM picked)
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt`.compile(db);
  const readWebhooks = db
    .selectFrom('webhooks')
    .select([
      'id',
      'url',
      'format',
      'headers',
      'secret_enc',
      'previous_secret_enc',
      'previous_secret_until',
      'is_enabled',
      'deleted_at',
    ])
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('deliveries')
        .select('webhook_id')
        .where('lease_owner', '=', workerId)
        .where('lease_until', '=', until),
    )
    .compile();
  const [leasedRows, webhookRows] = await hooks.runBatch([pickAndLease, readWebhooks], {
    durable: false,
    claimLock: true,
  });
  const deliveries = (leasedRows?.rows ?? []) as unknown as ClaimedRow[];
  const webhooks = (webhookRows?.rows ?? []) as unknown as WebhookRow[];

  const targets = new Map(
    webhooks.map((w) => [
      w.id,
      {
        live: w.deleted_at === null,
        enabled: Number(w.is_enabled) === 1,
        target: {
          url: w.url,
          format: w.format as WebhookFormat,
          headers: JSON.parse(w.headers) as Record<string, string>,
          secretEnc: w.secret_enc,
          previousSecretEnc:
            w.previous_secret_until !== null && Number(w.previous_secret_until) > now
              ? w.previous_secret_enc
              : null,
        },
      },
    ]),
  );
  return deliveries.map((r) => {
    const w = targets.get(r.webhook_id);
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
  });
}

const DELETED = Object.freeze({ unsendable: 'webhook_deleted' as const });
const DISABLED = Object.freeze({ unsendable: 'webhook_disabled' as const });

interface WebhookRow {
  id: string;
  url: string;
  format: string;
  headers: string;
  secret_enc: string | null;
  previous_secret_enc: string | null;
  previous_secret_until: number | string | null;
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
