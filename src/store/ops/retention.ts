/**
 * Retention (docs/operations.md#retention): deleting finished deliveries last updated before a
 * cutoff, their attempts, and events left without deliveries. Each call is one small transaction
 * of at most MAX_ROWS rows, so the sweeper never holds the database for long and delivery carries
 * on between batches. Runs and pending deliveries are never touched (a run only learns that its
 * history expired).
 */
import { sql } from 'kysely';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { PruneBatch, StoreStats } from '../store.js';
import type { Ctx, DialectHooks } from './context.js';

/** Rows written (deleted or marked) per transaction, at most. */
export const MAX_ROWS = 1_000;
/** An arbitrary constant shared by every Runhook process: only one sweeps a PostgreSQL database at a time. */
const RETENTION_LOCK = 7_420_452;

/**
 * Runs `sweep` while holding the retention lock. On PostgreSQL it is a session advisory lock on a
 * connection of its own; when another process holds it this returns null at once. On SQLite every
 * write already waits its turn for the file, so the lock is only this process's.
 */
export async function withRetentionLock<T>({ db, hooks }: Ctx, sweep: () => Promise<T>): Promise<T | null> {
  if (hooks.dialect !== 'postgres') return sweep();
  return db.connection().execute(async (conn) => {
    const got = await sql<{
      ok: boolean;
    }>`SELECT pg_try_advisory_lock(${sql.lit(RETENTION_LOCK)}) AS ok`.execute(conn);
    if (!got.rows[0]?.ok) return null;
    try {
      return await sweep();
    } finally {
      await sql`SELECT pg_advisory_unlock(${sql.lit(RETENTION_LOCK)})`.execute(conn);
    }
  });
}

/**
 * Finished deliveries last updated before `cutoff`, each with its number of attempts, read by the
 * partial index `deliveries_finished`, whose predicate this query repeats word for word (SQLite
 * uses a partial index only then). Exported for the plan test (test/store/claimPlan.test.ts).
 */
export function expiredDeliveriesQuery(hooks: DialectHooks, cutoff: number) {
  // Skip rows another transaction holds (a redelivery turning one pending): it is not expired.
  const lock = hooks.skipLocked ? sql`FOR UPDATE OF d SKIP LOCKED` : sql``;
  return sql<{ id: string; n: number | string }>`
    SELECT d.id, (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id) AS n
    FROM deliveries d
    WHERE d.status IN ('succeeded', 'failed') AND d.updated_at < ${cutoff}
    LIMIT ${Math.floor(MAX_ROWS / 2)}
    ${lock}`;
}

/**
 * One transaction: the oldest expired finished deliveries whose rows fit in MAX_ROWS (each costs
 * itself, its attempts and a mark on its run), or, when none is left, up to MAX_ROWS events created
 * before the cutoff that no delivery refers to. `done` is true when nothing was left to delete.
 */
export async function pruneExpired(
  { db, hooks }: Ctx,
  input: { cutoff: number; now: number },
): Promise<PruneBatch> {
  const { cutoff, now } = input;
  const batch = await db.transaction().execute(async (trx): Promise<PruneBatch | null> => {
    const candidates = await expiredDeliveriesQuery(hooks, cutoff).execute(trx);
    if (candidates.rows.length === 0) return null;

    const ids: string[] = [];
    let rows = 0;
    for (const c of candidates.rows) {
      const cost = Number(c.n) + 2; // its attempts, itself, its run's mark
      if (rows + cost > MAX_ROWS) break;
      ids.push(c.id);
      rows += cost;
    }
    if (ids.length === 0) {
      // A delivery with more attempts than one batch may hold: its attempts go first, in parts.
      const id = candidates.rows[0]!.id;
      const part = await trx
        .deleteFrom('attempts')
        .where('id', 'in', (eb) =>
          eb.selectFrom('attempts').select('id').where('delivery_id', '=', id).limit(MAX_ROWS),
        )
        .executeTakeFirst();
      return { deliveries: 0, attempts: Number(part.numDeletedRows), events: 0, runsMarked: 0, done: false };
    }

    const marked = await trx
      .updateTable('test_runs')
      .set({ deliveries_expired_at: now })
      .where('deliveries_expired_at', 'is', null)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('events')
          .innerJoin('deliveries', 'deliveries.event_id', 'events.id')
          .select('events.test_run_id')
          .where('deliveries.id', 'in', ids)
          .where('events.test_run_id', 'is not', null)
          .$narrowType<{ test_run_id: string }>(),
      )
      .executeTakeFirst();
    const attempts = await trx.deleteFrom('attempts').where('delivery_id', 'in', ids).executeTakeFirst();
    const deliveries = await trx.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst();
    return {
      deliveries: Number(deliveries.numDeletedRows),
      attempts: Number(attempts.numDeletedRows),
      events: 0,
      runsMarked: Number(marked.numUpdatedRows),
      done: false,
    };
  });
  if (batch) return batch;

  // No expired delivery left: the events they leave behind. A new delivery is only ever created
  // with a new event, so an old event without deliveries stays without them.
  const events = await db
    .deleteFrom('events')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('events as e')
        .select('e.id')
        .where('e.created_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('deliveries as d').select('d.id').whereRef('d.event_id', '=', 'e.id'))),
        )
        .limit(MAX_ROWS),
    )
    .executeTakeFirst();
  const n = Number(events.numDeletedRows);
  return { deliveries: 0, attempts: 0, events: n, runsMarked: 0, done: n < MAX_ROWS };
}

/**
 * Gives free pages back to the filesystem (SQLite databases created with auto_vacuum=INCREMENTAL),
 * keeping a quarter of the file free for the next inserts to reuse. Returns the pages released.
 * PostgreSQL reuses space through autovacuum: nothing to do.
 */
export async function releaseFreePages({ db, hooks }: Ctx): Promise<number> {
  if (hooks.dialect !== 'sqlite') return 0;
  const mode = await sql<{ auto_vacuum: number }>`PRAGMA auto_vacuum`.execute(db);
  if (Number(mode.rows[0]?.auto_vacuum) !== 2) return 0;
  const pages = Number(
    (await sql<{ page_count: number }>`PRAGMA page_count`.execute(db)).rows[0]?.page_count,
  );
  const free = Number(
    (await sql<{ freelist_count: number }>`PRAGMA freelist_count`.execute(db)).rows[0]?.freelist_count,
  );
  const release = free - Math.floor(pages / 4);
  if (release <= 0) return 0;
  // In parts, so deliveries' writes get the file between them.
  let released = 0;
  while (released < release) {
    const part = Math.min(1_000, release - released);
    await sql.raw(`PRAGMA incremental_vacuum(${part})`).execute(db);
    released += part;
  }
  return released;
}

/** The store's size on disk, and the age of its oldest pending delivery (for /metrics). */
export async function storeStats({ db, hooks }: Ctx): Promise<StoreStats> {
  const oldest = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.min('created_at').as('at'))
    .where('status', '=', DELIVERY_STATUS.pending)
    .executeTakeFirst();
  let sizeBytes: number;
  if (hooks.dialect === 'sqlite') {
    const pages = await sql<{ page_count: number }>`PRAGMA page_count`.execute(db);
    const size = await sql<{ page_size: number }>`PRAGMA page_size`.execute(db);
    sizeBytes = Number(pages.rows[0]?.page_count) * Number(size.rows[0]?.page_size);
  } else {
    // The tables (with their indexes and TOAST) of the schema Runhook works in.
    const res = await sql<{ bytes: string | number | null }>`
      SELECT sum(pg_total_relation_size(c.oid)) AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r'`.execute(db);
    sizeBytes = Number(res.rows[0]?.bytes ?? 0);
  }
  return {
    sizeBytes,
    oldestPendingCreatedAt: oldest?.at == null ? null : Number(oldest.at),
  };
}

/**
 * One transaction of results retention (docs/api.md#test-history): up to MAX_ROWS scenario results
 * stored before the cutoff, or, when none is left, the keys of the runs they belonged to. The runs
 * keep their counts, failures and changes; the tests their recent outcomes.
 */
export async function pruneExpiredResults(
  { db }: Ctx,
  input: { cutoff: number },
): Promise<{ results: number; done: boolean }> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('result_runs as rr')
      .innerJoin('test_results as r', 'r.run_key', 'rr.key')
      .select('r.id')
      .where('rr.created_at', '<', input.cutoff)
      .limit(MAX_ROWS)
      .execute();
    if (rows.length > 0) {
      await trx
        .deleteFrom('test_results')
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
      return { results: rows.length, done: false };
    }
    await trx.deleteFrom('result_runs').where('created_at', '<', input.cutoff).execute();
    return { results: 0, done: true };
  });
}
