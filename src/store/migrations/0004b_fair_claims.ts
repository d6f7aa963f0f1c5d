import { type Kysely, sql } from 'kysely';

/**
 * Fair claims (docs/operations.md#fairness-and-limits). Partial indexes, so their size follows the
 * work in progress, not the history:
 * - pending deliveries by webhook and due time: the claim skips from one webhook with pending work
 *   to the next and reads the first few due deliveries of each, whatever the depth of a backlog;
 * - live leases by webhook and by organization: attempts in flight, counted for both caps.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('deliveries_pending_webhook')
    .on('deliveries')
    .columns(['webhook_id', 'next_attempt_at'])
    .where(sql<boolean>`status = 'pending'`)
    .execute();
  await db.schema
    .createIndex('deliveries_leased_webhook')
    .on('deliveries')
    .columns(['webhook_id', 'lease_until'])
    .where(sql<boolean>`lease_until IS NOT NULL`)
    .execute();
  await db.schema
    .createIndex('deliveries_leased_org')
    .on('deliveries')
    .columns(['org_id', 'lease_until'])
    .where(sql<boolean>`lease_until IS NOT NULL`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
