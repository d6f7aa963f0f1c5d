import { type Kysely, sql } from 'kysely';

/**
 * Endpoint health and recovery (docs/receiving-webhooks.md, "When your endpoint fails").
 *
 * webhooks: why and when a webhook was turned off, the failure streak that may turn it off, the
 * probe schedule of a webhook the system turned off, and the last health state an operator alert
 * was raised for (alerts are derived from it, so a crash between a transition and its alert only
 * delays the alert).
 *
 * deliveries: what kind of send it is (`event`, `test`, `probe`), the run it reports (so lists and
 * stats need no join) and why a failed one failed.
 *
 * alerts: operator alerts waiting to be sent to RUNHOOK_ALERT_URL, retried like deliveries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const addWebhookColumn = (name: string, type: 'text' | 'bigint' | 'integer') =>
    db.schema.alterTable('webhooks').addColumn(name, type).execute();
  await addWebhookColumn('disabled_reason', 'text');
  await addWebhookColumn('disabled_at', 'bigint');
  // The first failed attempt since the last success, and how many deliveries ended failed since.
  await addWebhookColumn('failing_since', 'bigint');
  await db.schema
    .alterTable('webhooks')
    .addColumn('failed_streak', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Probes made since the system turned the webhook off, and when the next one is due.
  await db.schema
    .alterTable('webhooks')
    .addColumn('probe_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await addWebhookColumn('next_probe_at', 'bigint');
  await db.schema
    .alterTable('webhooks')
    .addColumn('alert_state', 'text', (c) => c.notNull().defaultTo('healthy'))
    .execute();
  // Who turned a system-disabled webhook back on (`probe`, `manual`): the reason of its alert.
  await addWebhookColumn('recovered_by', 'text');

  await db.schema
    .alterTable('deliveries')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('event'))
    .execute();
  await db.schema.alterTable('deliveries').addColumn('test_run_id', 'text').execute();
  await db.schema.alterTable('deliveries').addColumn('failure_reason', 'text').execute();

  // Existing rows: test sends are the deliveries of `test` events; every other delivery is an
  // event's and reports its run. A failed delivery answered 410 at last was `gone`; one that never
  // sent anything met a disabled or deleted webhook; the rest ran out of attempts.
  await sql`UPDATE deliveries SET kind = 'test'
            WHERE event_id IN (SELECT id FROM events WHERE type = 'test')`.execute(db);
  await sql`UPDATE deliveries SET test_run_id = (SELECT e.test_run_id FROM events e WHERE e.id = deliveries.event_id)
            WHERE kind = 'event'`.execute(db);
  await sql`UPDATE deliveries SET failure_reason = CASE
              WHEN last_http_status = 410 THEN 'gone'
              WHEN attempt_count = 0 THEN 'webhook_disabled'
              ELSE 'attempts_exhausted' END
            WHERE status = 'failed' AND kind = 'event'`.execute(db);
  await sql`UPDATE webhooks SET disabled_reason = 'manual', disabled_at = updated_at
            WHERE is_enabled = 0 AND deleted_at IS NULL`.execute(db);

  // Stats and recover read one webhook's event deliveries by creation time.
  await db.schema
    .createIndex('deliveries_webhook_kind')
    .on('deliveries')
    .columns(['webhook_id', 'kind', 'created_at'])
    .execute();

  await db.schema.createIndex('deliveries_run').on('deliveries').columns(['test_run_id']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('lease_until', 'bigint')
    .addColumn('last_http_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alerts_due').on('alerts').columns(['status', 'next_attempt_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
