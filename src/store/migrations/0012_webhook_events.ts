import { type Kysely, sql } from 'kysely';

/**
 * Several webhooks per scope, each with the event types it receives (docs/delivery.md#which-webhook-receives-an-event).
 * `events` is a JSON array of event types; webhooks saved before it receive what they always did,
 * `test_run_completed`. `scope_key` (unique: one live webhook per scope) is no longer written;
 * existing values are cleared so that a second webhook of a scope is not refused by them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('events', 'text', (c) => c.notNull().defaultTo('["test_run_completed"]'))
    .execute();
  await sql`UPDATE webhooks SET scope_key = NULL WHERE scope_key IS NOT NULL`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
