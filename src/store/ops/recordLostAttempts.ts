/**
 * Lost attempts are visible (docs/delivery.md#leases-and-at-least-once). A pending delivery whose
 * lease ran out while it still names an owner was claimed by a worker that never recorded an
 * outcome: it died, or lost its database, mid-attempt. Every way of ending an attempt normally
 * (recordResults, a graceful stop's releaseLeases) clears the owner, so only a lost one is left.
 *
 * Before the next claim hands such a delivery out again, the history gets an attempt with
 * `error_class` `worker_lost` (whether the receiver saw that send is unknown), and the lease is
 * cleared. Both statements carry the same guard (that owner, that lease, not renewed since it was
 * read) and run in one transaction, so two workers never log the same lost attempt twice, and a
 * worker that renewed its lease at the last moment keeps its delivery. On PostgreSQL the first
 * statement locks the row it reads, and a second worker's statement waits for it and then finds the
 * guard false: without it, a renewal committed between the two statements left a `worker_lost`
 * attempt logged for a delivery whose owner kept it and went on to record its own. SQLite's one
 * writer cannot interleave. A worker never declares its own leases lost (a late heartbeat is not a
 * death; a restarted worker has a new id).
 *
 * A lease need not run out to be lost (`deadOwners`): on PostgreSQL every worker holds a session
 * advisory lock while it runs (DialectHooks.workerLocks), and a lease whose owner's lock is free is
 * a dead worker's, found within a second or two of its death instead of at the lease's end. Only
 * owners whose id says they hold such a lock (`:s` at the end: workers of versions without it
 * are left to their leases' end). On SQLite, whose workers all run in one process, a worker's first
 * claim takes every lease of an owner that is not a worker of this process (`workersHere`) for
 * lost: a restarted `serve` need not wait for the previous process's leases to run out.
 *
 * This decides something other than the send pipeline's outcome (docs/architecture.md#one-send-pipeline):
 * no answer arrived to judge, so there is no outcome. The delivery stays pending, due as it was,
 * and no retry of its schedule is used up; only the attempt count moves.
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
  input: {
    workerId: string;
    now: number;
    leaseMs: number;
    deadOwners?: 'locks' | 'others' | null;
    workersHere?: readonly string[];
  },
): Promise<number> {
  const { workerId, now, leaseMs } = input;
  const lost = await lostLeasesQuery(hooks, workerId, now, {
    deadOwners: input.deadOwners ?? null,
    workersHere: input.workersHere ?? [],
  }).execute(db);
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
    const message =
      leaseUntil < now
        ? `the worker ${d.lease_owner} stopped before recording this attempt's outcome; its lease ran out`
        : `the worker ${d.lease_owner} stopped before recording this attempt's outcome; it is gone`;
    // Expired, or (a dead owner's) exactly as read: a renewal since moves it.
    const guard = sql`id = ${d.id} AND lease_owner = ${d.lease_owner}
      AND (lease_until < ${now} OR lease_until = ${leaseUntil})`;
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
  await hooks.runBatch(statements, { durable: true });
  hooks.notifyAttempts(timeOrderedLowerBound(now));
  return lost.rows.length;
}

/** The first half of a worker's session lock key (src/store/postgres/openPostgres.ts, WORKER_LOCK). */
const WORKER_LOCK = 7_420_454;

/**
 * Leases that still name another owner and ran out, or (`deadOwners`) whose owner is gone: its
 * session lock is free ('locks', PostgreSQL), or it is not a worker of this process ('others',
 * SQLite). Exported for test/store/claimPlan.test.ts.
 */
export function lostLeasesQuery(
  hooks: DialectHooks,
  workerId: string,
  now: number,
  dead: { deadOwners: 'locks' | 'others' | null; workersHere: readonly string[] } = {
    deadOwners: null,
    workersHere: [],
  },
) {
  // pg_locks shows a two-part key as classid and objid, both oid: the hash read as unsigned.
  const gone =
    dead.deadOwners === 'locks'
      ? sql`OR (d.lease_owner LIKE '%:s' AND NOT EXISTS (
          SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
            AND l.classid = CAST(${sql.lit(WORKER_LOCK)} AS oid)
            AND CAST(l.objid AS bigint) = (CAST(hashtext(d.lease_owner) AS bigint) & 4294967295)))`
      : dead.deadOwners === 'others'
        ? sql`OR d.lease_owner NOT IN (SELECT value FROM json_each(${JSON.stringify(dead.workersHere)}))`
        : sql``;
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
    WHERE d.lease_until IS NOT NULL AND (d.lease_until < ${now} ${gone}) AND d.lease_owner IS NOT NULL AND d.lease_owner <> ${workerId}
      AND d.status = ${sql.lit(DELIVERY_STATUS.pending)}
    LIMIT ${BATCH}`;
}
