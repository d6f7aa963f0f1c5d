/**
 * The hand-off (docs/architecture.md#hand-off): a new delivery leased straight to a worker of this
 * process after its commit, under the rules a claim keeps (claimDueDeliveries.ts).
 */
import { sql } from 'kysely';
import type { ClaimedDelivery, HandoffTaker } from '../store.js';
import { type ClaimedRow, inFlightLease, PENDING } from './claimStatements.js';
import { claimedDelivery, readWebhooksList, targetOf, type WebhookRow } from './claimTargets.js';
import { type Ctx, type DialectHooks, indexedBy } from './context.js';

/**
 * The hand-off where the new delivery cannot be leased in its own write (PostgreSQL: one statement
 * cannot see a concurrent claim's leases; docs/architecture.md#hand-off): right after its commit,
 * one batch leases that delivery to the taker, under its webhook's and organization's claim locks
 * if they are free (not waiting for them: a claim under way takes the delivery instead), with the
 * claim's rules: the webhook and the organization below their caps and nothing of the webhook due
 * and unleased before it. Null when it was not leased.
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
