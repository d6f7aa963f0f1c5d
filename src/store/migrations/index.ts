import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_secret_rotation.js';
import * as m0003 from './0003_failures_filters_idempotency.js';
import * as m0004 from './0004_retention.js';
import * as m0004b from './0004b_fair_claims.js';
import * as m0005 from './0005_endpoint_health.js';
import * as m0006 from './0006_lean_delivery_indexes.js';
import * as m0007 from './0007_finished_index_partial.js';
import * as m0008 from './0008_drop_webhook_kind_index.js';
import * as m0009 from './0009_scenario_results.js';
import * as m0010 from './0010_agent_config_test_suites.js';
import * as m0011 from './0011_ed25519_keys.js';
import * as m0012 from './0012_webhook_events.js';
import * as m0013 from './0013_run_groups.js';
import * as m0014 from './0014_fifo_ordering.js';
import * as m0015 from './0015_tests_hot_updates.js';
import * as m0016 from './0016_results_without_test_index.js';

/** Numbered migrations, in order. Both dialects run the same list. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_secret_rotation': m0002,
  '0003_failures_filters_idempotency': m0003,
  '0004_retention': m0004,
  '0004b_fair_claims': m0004b,
  '0005_endpoint_health': m0005,
  '0006_lean_delivery_indexes': m0006,
  '0007_finished_index_partial': m0007,
  '0008_drop_webhook_kind_index': m0008,
  '0009_scenario_results': m0009,
  '0010_agent_config_test_suites': m0010,
  '0011_ed25519_keys': m0011,
  '0012_webhook_events': m0012,
  '0013_run_groups': m0013,
  '0014_fifo_ordering': m0014,
  '0015_tests_hot_updates': m0015,
  '0016_results_without_test_index': m0016,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};

/**
 * True when the database has run exactly the migrations above, so `migrate()` has nothing to do
 * and can skip Kysely's Migrator (its table checks and lock cost every start, and every admin
 * command, a few hundred milliseconds). Anything else (no table yet, a migration missing, one this
 * version does not know) goes to the Migrator, which applies or refuses as before.
 */
export async function isMigrated<DB>(db: Kysely<DB>, schema: string | undefined): Promise<boolean> {
  const table = sql.table(schema ? `${schema}.kysely_migration` : 'kysely_migration');
  let names: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${table}`.execute(db);
    names = new Set(rows.map((r) => r.name));
  } catch {
    return false; // not migrated yet: the table does not exist
  }
  const expected = Object.keys(MIGRATIONS);
  return names.size === expected.length && expected.every((name) => names.has(name));
}
