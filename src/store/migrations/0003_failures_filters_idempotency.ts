import type { Kysely } from 'kysely';

/**
 * Results that say what failed (docs/api.md): a run's failing tests and Preclinical's run
 * settings; a webhook's filter; and the answers kept for `Idempotency-Key` requests.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // JSON text; null on runs stored before this migration, read as "no failures".
  await db.schema.alterTable('test_runs').addColumn('failures', 'text').execute();
  await db.schema.alterTable('test_runs').addColumn('test_suite_id', 'text').execute();
  await db.schema.alterTable('test_runs').addColumn('test_mode', 'text').execute();
  await db.schema.alterTable('test_runs').addColumn('max_scenarios', 'integer').execute();
  await db.schema.alterTable('test_runs').addColumn('max_turns', 'integer').execute();

  // JSON text; null = every finished run.
  await db.schema.alterTable('webhooks').addColumn('filter', 'text').execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    /** Hash of method, route, path parameters and body: the same key with another request is a 409. */
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    /** Null while the first request is being answered. */
    .addColumn('status_code', 'integer')
    .addColumn('response', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    /** Until when the first request holds the key; past it (a crashed process) another may take over. */
    .addColumn('locked_until', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['org_id', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_created')
    .on('idempotency_keys')
    .columns(['created_at'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
