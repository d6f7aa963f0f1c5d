import type { Kysely } from 'kysely';

/**
 * Asymmetric signatures (docs/delivery.md#ed25519-signatures): a webhook's signature scheme and,
 * for `ed25519`, the key pair Runhook signs with (private key sealed like secrets) plus the pair
 * replaced last, which keeps signing until previous_signing_key_until (rotation grace).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('signature_scheme', 'text', (c) => c.notNull().defaultTo('hmac-sha256'))
    .execute();
  await db.schema.alterTable('webhooks').addColumn('signing_key_enc', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('public_key', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('previous_signing_key_enc', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('previous_public_key', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('previous_signing_key_until', 'bigint').execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
