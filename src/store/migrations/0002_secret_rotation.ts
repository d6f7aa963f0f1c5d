import type { Kysely } from 'kysely';

/**
 * Secret rotation (docs/delivery.md#signing-and-secret-rotation): after a secret is replaced, the previous one keeps signing alongside
 * it for a grace period, so receivers can switch without dropping deliveries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhooks').addColumn('previous_secret_enc', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('previous_secret_until', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
