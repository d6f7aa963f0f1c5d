import type { Kysely } from 'kysely';

/**
 * Preclinical's API (docs/api.md#agents, docs/api.md#test-suites): an agent's provider config,
 * sealed like webhook secrets (null = none); and test suites, named selections of scenario ids
 * that runs refer to by `test_suite_id`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agents').addColumn('config_enc', 'text').execute();

  await db.schema
    .createTable('test_suites')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    /** JSON array of strings, in the order given. */
    .addColumn('scenario_ids', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('test_suites_org_name', ['org_id', 'name'])
    .execute();
  // Lists go newest first within an organization.
  await db.schema
    .createIndex('test_suites_org_created')
    .on('test_suites')
    .columns(['org_id', 'created_at'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
