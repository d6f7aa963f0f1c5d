import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Room on each `tests` page for the next version of its rows (PostgreSQL; docs/architecture.md#results).
 * Every run of an agent rewrites each of its tests' rows (`recent`, last status and time, none of
 * them indexed). With full pages PostgreSQL writes the new version elsewhere and adds an entry to
 * each of the table's three indexes for every test, every run; with room on the page the update is
 * heap-only and the indexes are left alone. Rows written before this take the setting as their pages
 * are rewritten. SQLite updates in place and has no such setting.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`ALTER TABLE tests SET (fillfactor = 50)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
