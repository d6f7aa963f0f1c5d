import { type Kysely, sql } from 'kysely';

/**
 * One index fewer on `deliveries` (docs/architecture.md#query-plans). `deliveries_webhook_kind
 * (webhook_id, kind, created_at)` served a webhook's stats and bulk recover, which read its event
 * deliveries by creation time; `deliveries_webhook (webhook_id, created_at)` serves them as well,
 * skipping the few test and probe deliveries among them, and the delivery list needs it anyway. On
 * PostgreSQL every write of a delivery (created, leased, recorded) added an entry to this index
 * too. Measured (`npm run bench` phases, four alternating pairs): PostgreSQL server CPU 368–434
 * → 328–434 µs per delivery, 411 → 374 on average; SQLite unchanged (commit cd19a3e).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS deliveries_webhook_kind`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
