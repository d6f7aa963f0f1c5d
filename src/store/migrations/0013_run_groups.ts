import { type Kysely, sql } from 'kysely';

/**
 * Run groups (docs/delivery.md#run-groups): a run may name a group (`group_name`, e.g. a CI build
 * id) and the number of runs the group expects (`group_size`).
 *
 * run_groups: one row per group of an organization. Every run that joins or finishes takes its row
 * lock first, so of the transactions that finish a group's last runs at once the one that takes
 * the lock last sees them all final. `completed_at` is set, in the transaction that creates the
 * group's event, only where it is still null: one event per group, whichever API node, worker or
 * sweep gets there. `last_activity_at` is when a run of the group last joined or finished (the
 * window counts from it); `group_size` the largest any of its runs gave.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('test_runs').addColumn('group_name', 'text').execute();
  await db.schema.alterTable('test_runs').addColumn('group_size', 'integer').execute();
  await db.schema
    .createIndex('test_runs_group')
    .on('test_runs')
    .columns(['org_id', 'group_name'])
    .where(sql<boolean>`group_name IS NOT NULL`)
    .execute();

  await sql`CREATE TABLE run_groups (
    org_id text NOT NULL,
    name text NOT NULL,
    group_size integer,
    created_at bigint NOT NULL,
    last_activity_at bigint NOT NULL,
    completed_at bigint,
    event_id text,
    PRIMARY KEY (org_id, name)
  )`.execute(db);
  // The sweep's reading: open groups, quiet the longest first.
  await db.schema
    .createIndex('run_groups_open')
    .on('run_groups')
    .columns(['last_activity_at'])
    .where(sql<boolean>`completed_at IS NULL`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Runhook migrations are forward-only');
}
