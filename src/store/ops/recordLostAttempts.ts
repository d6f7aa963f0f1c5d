/**
 * Lost attempts are visible (docs/delivery.md#leases-and-at-least-once). A pending delivery whose
 * lease ran out while it still names an owner was claimed by a worker that never recorded an
 * outcome: it died, or lost its database, mid-attempt. Every way of ending an attempt normally
 * (recordResults, a graceful stop's releaseLeases) clears the owner, so only a lost one is left.
 *
 * Before the next claim hands such a delivery out again, the history gets an attempt with
 * `error_class` `worker_lost` (whether the receiver saw that send is unknown), and the lease is
 * cleared. Both statements carry the same guard (that owner, lease still expired) and run in one
 * claim-locked transaction, so two workers never log the same lost attempt twice, and a worker
 * that renewed its lease at the last moment keeps its delivery. On PostgreSQL the first statement
 * locks the row it reads (renewals do not take the claim lock): without it, a renewal committed
 * between the two statements left a `worker_lost` attempt logged for a delivery whose owner kept
 * it and went on to record its own. SQLite's one writer cannot interleave. A worker never declares
 * its own leases lost (a late heartbeat is not a death; a restarted worker has a new id).
 */
import { type CompiledQuery, sql } from 'kysely';
import { timeOrderedLowerBound, timeOrderedUuid } from '../../domain/ids.js';
import { DELIVERY_STATUS, ERROR_CLASS } from '../../domain/types.js';
import { type Ctx, type DialectHooks, indexedBy } from './context.js';
import { attemptRequestText } from './mappers.js';

/** At most this many lost leases are recorded per claim; the next claims take the rest. */
const BATCH = 100;

export async function recordLostAttempts(
  { db, hooks }: Ctx,
  input: { workerId: string; now: number; leaseMs: number },
): Promise<number> {
  const { workerId, now, leaseMs } = input;
  const lost = await lostLeasesQuery(hooks, workerId, now).execute(db);
  if (lost.rows.length === 0) return 0;

  // PostgreSQL re-reads a row a concurrent renewal changed once it may lock it, and skips it then.
  const lockRow = hooks.dialect === 'postgres' ? sql` FOR NO KEY UPDATE` : sql``;
  const statements: CompiledQuery[] = [];
  for (const d of lost.rows) {
    const leaseUntil = Number(d.lease_until);
    // The dead worker's last claim or renewal: its lease ran leaseMs from then (workers of one
    // deployment share RUNHOOK_CLAIM_LEASE).
    const startedAt = Math.min(now, Math.max(0, leaseUntil - leaseMs));
    const request = attemptRequestText({ url: d.url ?? '', headers: {} });
    const message = `the worker ${d.lease_owner} stopped before recording this attempt's outcome; its lease ran out`;
    const guard = sql`id = ${d.id} AND lease_owner = ${d.lease_owner} AND lease_until < ${now}`;
    statements.push(
      sql`
      INSERT INTO attempts (id, delivery_id, attempt_number, trigger, started_at, response_time_ms,
                            http_status, error_class, error_message, request, response)
      SELECT ${timeOrderedUuid(now)}, id, attempt_count + 1, next_trigger, CAST(${startedAt} AS bigint), NULL,
             NULL, ${sql.lit(ERROR_CLASS.worker_lost)}, ${message}, ${request}, NULL
      FROM deliveries WHERE ${guard}${lockRow}`.compile(db),
      sql`
      UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, attempt_count = attempt_count + 1,
        updated_at = ${now}
      WHERE ${guard}`.compile(db),
    );
  }
  await hooks.runBatch(statements, { durable: true, claimLock: true });
  hooks.notifyAttempts(timeOrderedLowerBound(now));
  return lost.rows.length;
}

/** Expired leases that still name another owner (exported for test/store/claimPlan.test.ts). */
export function lostLeasesQuery(hooks: DialectHooks, workerId: string, now: number) {
  return sql<{
    id: string;
    lease_owner: string;
    lease_until: number | string;
    attempt_count: number | string;
    next_trigger: string;
    url: string | null;
  }>`
    SELECT d.id, d.lease_owner, d.lease_until, d.attempt_count, d.next_trigger, w.url
    FROM deliveries d ${indexedBy(hooks, 'deliveries_leased_webhook')} LEFT JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.lease_until < ${now} AND d.lease_owner IS NOT NULL AND d.lease_owner <> ${workerId}
      AND d.status = ${sql.lit(DELIVERY_STATUS.pending)}
    LIMIT ${BATCH}`;
}
