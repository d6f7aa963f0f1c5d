import { type Kysely, sql } from 'kysely';

/**
 * `deliveries_finished` holds finished deliveries only (docs/architecture.md#query-plans). Retention
 * is its one reader, and it looks only for succeeded and failed deliveries updated before a cutoff.
 * As a full index on `(status, updated_at)` it held every pending delivery too, so each delivery's
 * creation wrote an entry and its result moved it; on PostgreSQL a non-HOT update (the lease
 * changes indexed columns) also wrote a new entry for the lease. Now a delivery gets one entry,
 * when it ends, and SQLite can no longer mistake this index for a way to `status = 'pending'`.
 * On a large existing table the rebuild takes a while, once, at the first start of this version.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS deliveries_finished`.execute(db);
  await db.schema
    .createIndex('deliveries_finished')
    .on('deliveries')
    .columns(['updated_at'])
    .where(sql<boolean>`status IN ('succeeded', 'failed')`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
