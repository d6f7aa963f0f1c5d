import { type Kysely, sql } from 'kysely';

/**
 * Several webhooks per scope, each with the event types it receives (docs/delivery.md#which-webhook-receives-an-event).
 * `events` is a JSON array of event types; webhooks saved before it receive what they always did,
 * `test_run_completed`. `scope_key` (unique: one live webhook per scope) is no longer written;
 * existing values are cleared so that a second webhook of a scope is not refused by them. Also
 * what coalesces the organization's endpoint-health events, below.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('events', 'text', (c) => c.notNull().defaultTo('["test_run_completed"]'))
    .execute();
  await sql`UPDATE webhooks SET scope_key = NULL WHERE scope_key IS NOT NULL`.execute(db);
  // The last `webhook_disabled` / `webhook_recovered` event about the webhook and when its
  // deliveries were due: the next one waits RUNHOOK_ALERT_INTERVAL after it, or replaces it if it
  // is still waiting unsent (docs/delivery.md#endpoint-health-events).
  await db.schema.alterTable('webhooks').addColumn('health_event_id', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('health_event_due_at', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
