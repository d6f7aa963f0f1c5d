import { type Kysely, sql } from 'kysely';

/**
 * Ordered delivery (docs/delivery.md#ordered-delivery). A webhook's `ordering`; on deliveries, the
 * agent whose queue an event delivery belongs to and, for one waiting behind an unfinished delivery
 * of its queue, when it joined the queue (`held_at`, null otherwise). `deliveries_held` holds only
 * waiting deliveries, so it costs nothing on the hot path of `parallel` webhooks, and finds the next
 * one of a queue, and a webhook's waiting count, at once. Pending event deliveries get their agent
 * here, so a webhook switched to `fifo` queues new deliveries behind them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('ordering', 'text', (c) => c.notNull().defaultTo('parallel'))
    .execute();
  await db.schema.alterTable('deliveries').addColumn('agent_id', 'text').execute();
  await db.schema.alterTable('deliveries').addColumn('held_at', 'bigint').execute();
  await db.schema
    .createIndex('deliveries_held')
    .on('deliveries')
    .columns(['webhook_id', 'agent_id', 'held_at'])
    .where(sql<boolean>`held_at IS NOT NULL`)
    .execute();
  await sql`
    UPDATE deliveries SET agent_id = (SELECT r.agent_id FROM test_runs r WHERE r.id = deliveries.test_run_id)
    WHERE status = 'pending' AND kind = 'event' AND test_run_id IS NOT NULL`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
