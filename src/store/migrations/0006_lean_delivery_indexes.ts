import { type Kysely, sql } from 'kysely';

/**
 * Fewer indexes to keep up on every delivery status change (docs/architecture.md#query-plans).
 * Each delivery is written three times (created, leased, recorded), and every index that holds a
 * changed column is written too (on PostgreSQL, every index of the table, unless the update is
 * HOT, which changing an indexed column rules out). Two indexes no query needs any more:
 * - `deliveries_due (status, next_attempt_at)`: the claim reads `deliveries_pending_webhook`; the
 *   pending count for /metrics reads pending rows either way;
 * - `deliveries_lease (lease_until)`: live and lost leases are read through the partial
 *   `deliveries_leased_webhook`, which holds only deliveries with a lease (about as many as
 *   attempts in flight).
 * Measured (`npm run bench`, 10,000 deliveries): SQLite thread 187 → 157 µs per delivery, the
 * PostgreSQL server 342 → 312 µs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS deliveries_due`.execute(db);
  await sql`DROP INDEX IF EXISTS deliveries_lease`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
