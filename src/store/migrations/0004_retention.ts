import type { Kysely } from 'kysely';

/**
 * Retention (docs/operations.md#retention): the sweeper finds finished deliveries by their last
 * update and orphaned events by their age through these indexes, without scanning the tables; and
 * a run remembers when its delivery history was deleted, so the API and dashboard can say so.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('deliveries_finished')
    .on('deliveries')
    .columns(['status', 'updated_at'])
    .execute();
  await db.schema.createIndex('events_created').on('events').columns(['created_at']).execute();
  await db.schema.alterTable('test_runs').addColumn('deliveries_expired_at', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
