import { type Kysely, sql } from 'kysely';

/**
 * Drops the index of scenario results by test (docs/architecture.md#results). A run adds one
 * result for each of its tests, and in that index each one lands on another page: a run of 1,000
 * results rewrote about as many index pages, most of each commit's writes, and held SQLite's ingest
 * below 20 such runs a second. A test's history is read through its agent's runs instead, by the
 * index of results by run (readResults.ts, testHistory).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS test_results_test`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
