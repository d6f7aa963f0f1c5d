import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parseDatabaseUrl } from '../../src/config.js';
import { openStore } from '../../src/store/openStore.js';

/** One fresh database per test: a temp SQLite file, or a new schema in the test PostgreSQL database. */
export interface TestDatabase {
  /** A RUNHOOK_DATABASE_URL pointing at it. */
  url: string;
  /** Removes it (a failed test's PostgreSQL schema is kept when KEEP_TEST_DB=1, for debugging). */
  drop(): Promise<void>;
}

export type BackendName = 'sqlite' | 'postgres';

export interface Backend {
  name: BackendName;
  /** An empty database: what a first `runhook serve` or `runhook migrate` finds. */
  create(): Promise<TestDatabase>;
  /**
   * A database at the latest migration, with no rows but Kysely's bookkeeping: a copy of a
   * template migrated once per `npm test` (see `prepareTemplates`), instead of migrating each
   * test's database from scratch. Opening it still runs `migrate()`, which finds nothing to do.
   */
  createMigrated(): Promise<TestDatabase>;
}

/** Set by test/globalSetup.ts: a migrated SQLite file to copy. */
export const SQLITE_TEMPLATE_ENV = 'RUNHOOK_TEST_SQLITE_TEMPLATE';
/** Set by test/globalSetup.ts: a file of SQL that builds a migrated schema named TEMPLATE_SCHEMA. */
export const PG_TEMPLATE_ENV = 'RUNHOOK_TEST_PG_TEMPLATE';

/** Set by test/globalSetup.ts: this run's id, in the name of every schema the run makes. */
const RUN_ENV = 'RUNHOOK_TEST_RUN';

/** The start of this run's schema names: its teardown drops what is left of them. */
const schemaPrefix = () => `t_${process.env[RUN_ENV] ?? 'local'}_`;

/** A new schema name of this run. */
const newSchemaName = () => `${schemaPrefix()}${randomBytes(6).toString('hex')}`;

/** The template schema's name in the SQL file: replaced by each test's schema name. */
const TEMPLATE_SCHEMA = 't_template_0f1e2d3c4b5a';

function tempDatabaseFile(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runhook-test-'));
  return { dir, path: join(dir, 'runhook.db') };
}

/** Migrates a new SQLite file; returns its path. */
async function migratedSqliteFile(): Promise<string> {
  const { path } = tempDatabaseFile();
  const store = await openStore({ kind: 'sqlite', path });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  // Folds the WAL into the file (closing the store leaves it), so a copy is one small file.
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}

let sqliteTemplate: Promise<string> | null = null;

const sqlite: Backend = {
  name: 'sqlite',
  async create() {
    const { dir, path } = tempDatabaseFile();
    return {
      url: `sqlite:${path}`,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async createMigrated() {
    const fromSetup = process.env[SQLITE_TEMPLATE_ENV];
    sqliteTemplate ??= fromSetup ? Promise.resolve(fromSetup) : migratedSqliteFile();
    const template = await sqliteTemplate;
    const { dir, path } = tempDatabaseFile();
    // The file and its WAL, if closing left one (SQLite replays it on open); copies keep mode 0600.
    copyFileSync(template, path);
    if (existsSync(`${template}-wal`)) copyFileSync(`${template}-wal`, `${path}-wal`);
    return {
      url: `sqlite:${path}`,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  await withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/**
 * The schema's URL. Its connections carry the schema's name as their application_name, so that a
 * schema given back for reuse can wait until none of them is left (a SIGKILLed server's, say).
 */
function schemaUrl(baseUrl: string, schema: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema} -c application_name=${schema}`);
  return url.toString();
}

/**
 * Migrates a schema, dumps it as SQL (tables, indexes, Kysely's bookkeeping rows) and drops it:
 * the SQL, run with the schema's name replaced, builds a migrated schema in one round trip.
 * Null when pg_dump is not installed (then each test migrates its own schema).
 */
async function migratedSchemaSql(baseUrl: string): Promise<string | null> {
  try {
    execFileSync('pg_dump', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const schema = TEMPLATE_SCHEMA;
  await withClient(baseUrl, async (c) => {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.query(`CREATE SCHEMA ${schema}`);
  });
  try {
    const store = await openStore(parseDatabaseUrl(schemaUrl(baseUrl, schema)));
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    const dump = execFileSync(
      'pg_dump',
      ['--schema', schema, '--no-owner', '--no-privileges', '--inserts', '--dbname', baseUrl],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    // psql's meta-commands (`\restrict` in newer pg_dump) are not SQL; nor is the search_path
    // reset a concern of a client that disconnects right after.
    return dump
      .split('\n')
      .filter((line) => !line.startsWith('\\'))
      .join('\n');
  } finally {
    await dropSchema(baseUrl, schema);
  }
}

let pgTemplate: Promise<string | null> | null = null;

/**
 * What a schema built from the template is made of (tables, columns, indexes, constraints, by
 * name), as one hash: a schema handed back is reused only when it is still exactly that.
 */
const SHAPE_SQL = `
  SELECT md5(coalesce((
    SELECT string_agg(c.relname::text || ' ' || c.relkind::text || ' ' || coalesce(a.attname::text, '') || ' ' ||
      coalesce(format_type(a.atttypid, a.atttypmod), '') || ' ' || coalesce(a.attnotnull::text, '') || ' ' ||
      coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ',' ORDER BY c.relname, a.attnum)
    FROM pg_class c
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1::text)), '') || coalesce((
    SELECT string_agg(conname || ' ' || replace(pg_get_constraintdef(oid), $1::text || '.', ''), ',' ORDER BY conname)
    FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1::text)), '') || coalesce((
    SELECT string_agg(replace(pg_get_indexdef(i.indexrelid), $1::text || '.', ''), ',' ORDER BY 1)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1::text)), '')) AS shape`;

/** A schema with more rows than this is dropped, not emptied: its dead rows would slow the next test. */
const MAX_ROWS_TO_EMPTY = 2_000;

/**
 * The PostgreSQL half of the suite makes a few hundred schemas. Building one from the template
 * and dropping it cost about 65 ms of the server's CPU (110 DDL statements) and two connections;
 * emptying one costs a few milliseconds. So a test's schema, when its test is done, is renamed,
 * emptied and kept for the next test of this process, unless anything about it differs from a fresh
 * one: a table, column, index or constraint changed, statistics gathered, Kysely's bookkeeping
 * touched, more rows than MAX_ROWS_TO_EMPTY, or a connection that will not end.
 */
function schemaPool(baseUrl: string) {
  const ready: string[] = [];
  /**
   * The template's shape, its tables and sequences (but Kysely's) and its migrations, read from
   * its first copy.
   */
  let template: { shape: string; tables: string[]; sequences: string[]; migrations: number } | null = null;
  let admin: pg.Pool | null = null;
  const pool = () => {
    admin ??= new pg.Pool({
      connectionString: baseUrl,
      max: 1,
      idleTimeoutMillis: 1_000,
      allowExitOnIdle: true,
    });
    return admin;
  };

  async function learnShape(schema: string): Promise<void> {
    if (template !== null) return;
    const db = pool();
    const shape = (await db.query(SHAPE_SQL, [schema])).rows[0].shape as string;
    const tables = await db.query(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename NOT LIKE 'kysely_migration%' ORDER BY 1",
      [schema],
    );
    const sequences = await db.query('SELECT sequencename FROM pg_sequences WHERE schemaname = $1', [schema]);
    const migrations = await db.query(`SELECT count(*)::int AS n FROM ${schema}.kysely_migration`);
    template = {
      shape,
      tables: tables.rows.map((r) => r.tablename as string),
      sequences: sequences.rows.map((r) => r.sequencename as string),
      migrations: migrations.rows[0].n as number,
    };
  }

  /**
   * Empties `schema`, just renamed from `was`, for reuse; false when it cannot be made as new.
   * Whatever still uses the old name (a worker or pool a test left running, reconnecting with the
   * old URL) finds nothing there any more, so it cannot write into the next test's schema. A
   * connection still open under the old name could still commit a transaction it began before the
   * rename: the schema is reused only once there is none (a killed server's end within moments;
   * nothing is ended here, the test process may still hold one).
   */
  async function empty(schema: string, was: string): Promise<boolean> {
    if (template === null) return false;
    const db = pool();
    const open = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`;
    for (let i = 0; (await db.query(open, [was])).rows[0].n > 0; i++) {
      if (i === 50) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    const checked = await db.query(
      `SELECT (${SHAPE_SQL}) AS shape,
        -- Statistics of rows (an ANALYZE or VACUUM by a test, or autovacuum, while rows were there)
        -- change the planner's choices: a fresh schema has none (its CREATE INDEX statements
        -- leave reltuples at 0, but for Kysely's tables, which the template fills).
        (SELECT count(*)::int FROM pg_class
          WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1::text) AND relkind = 'r' AND reltuples > 0
            AND relname NOT LIKE 'kysely_migration%') AS analyzed,
        (SELECT count(*)::int FROM ${schema}.kysely_migration) AS migrations,
        (SELECT count(*)::int FROM ${schema}.kysely_migration_lock WHERE is_locked = 0) AS unlocked,
        ${template.tables.map((t) => `(SELECT count(*) FROM ${schema}.${t})`).join(' + ')} AS rows`,
      [schema],
    );
    const c = checked.rows[0];
    if (
      c.shape !== template.shape ||
      c.analyzed !== 0 ||
      c.migrations !== template.migrations ||
      c.unlocked !== 1 ||
      Number(c.rows) > MAX_ROWS_TO_EMPTY
    ) {
      return false;
    }
    try {
      await db.query(
        [
          'BEGIN',
          // Every table is emptied: no foreign key needs checking, in whatever order they go
          // (a superuser's setting; without it the schema is dropped instead).
          'SET LOCAL session_replication_role = replica',
          ...template.tables.map((t) => `DELETE FROM ${schema}.${t}`),
          ...template.sequences.map((q) => `SELECT setval('${schema}.${q}', 1, false)`),
          'COMMIT',
        ].join(';'),
      );
    } catch (err) {
      await db.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return true;
  }

  return {
    take: () => ready.pop() ?? null,
    learnShape,
    /** Keeps `schema`, emptied and renamed, for the next test; else drops it. */
    async giveBack(schema: string): Promise<void> {
      let name = schema;
      try {
        if (template !== null) {
          const renamed = newSchemaName();
          await pool().query(`ALTER SCHEMA ${schema} RENAME TO ${renamed}`);
          name = renamed;
          if (await empty(renamed, schema)) {
            ready.push(renamed);
            return;
          }
        }
      } catch {
        // Dropped below.
      }
      await dropSchema(baseUrl, name);
    },
  };
}

function postgres(baseUrl: string): Backend {
  const reusable = schemaPool(baseUrl);
  const handle = (schema: string, reuse: boolean): TestDatabase => ({
    url: schemaUrl(baseUrl, schema),
    async drop() {
      if (process.env.KEEP_TEST_DB === '1') return;
      if (reuse) await reusable.giveBack(schema);
      else await dropSchema(baseUrl, schema);
    },
  });

  async function newSchema(fromTemplate: boolean): Promise<TestDatabase> {
    let sql: string | null = null;
    if (fromTemplate) {
      const fromSetup = process.env[PG_TEMPLATE_ENV];
      pgTemplate ??= fromSetup
        ? Promise.resolve(readFileSync(fromSetup, 'utf8'))
        : migratedSchemaSql(baseUrl);
      sql = await pgTemplate;
      const reused = sql === null ? null : reusable.take();
      if (reused) return handle(reused, true);
    }
    const schema = newSchemaName();
    await withClient(baseUrl, async (c) => {
      if (sql === null) await c.query(`CREATE SCHEMA ${schema}`);
      else await c.query(sql.replaceAll(TEMPLATE_SCHEMA, schema));
    });
    if (sql !== null) await reusable.learnShape(schema);
    return handle(schema, sql !== null);
  }
  return {
    name: 'postgres',
    create: () => newSchema(false),
    createMigrated: () => newSchema(true),
  };
}

/**
 * Called once per run by test/globalSetup.ts: migrates the templates `createMigrated` copies, so
 * that no test file migrates its own. Returns the teardown that removes them.
 */
export async function prepareTemplates(pgUrl: string | null): Promise<() => Promise<void>> {
  process.env[RUN_ENV] = randomBytes(4).toString('hex');
  const sqlitePath = await migratedSqliteFile();
  process.env[SQLITE_TEMPLATE_ENV] = sqlitePath;
  let sqlFile: string | null = null;
  if (pgUrl) {
    const sql = await migratedSchemaSql(pgUrl);
    if (sql !== null) {
      sqlFile = join(mkdtempSync(join(tmpdir(), 'runhook-test-pg-')), 'template.sql');
      writeFileSync(sqlFile, sql);
      process.env[PG_TEMPLATE_ENV] = sqlFile;
    }
  }
  return async () => {
    rmSync(join(sqlitePath, '..'), { recursive: true, force: true });
    if (sqlFile) rmSync(join(sqlFile, '..'), { recursive: true, force: true });
    // The schemas the test processes kept for reuse when their last test ended (schemaPool).
    if (pgUrl && process.env.KEEP_TEST_DB !== '1') {
      await withClient(pgUrl, async (c) => {
        const kept = await c.query('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [
          `${schemaPrefix()}%`,
        ]);
        for (const row of kept.rows) await c.query(`DROP SCHEMA IF EXISTS ${row.nspname as string} CASCADE`);
      });
    }
  };
}

/**
 * The backends every integration suite runs against: `for (const backend of backends)`.
 * PostgreSQL is in the list whenever test/globalSetup.ts found it (always in CI).
 */
export const sqliteBackend = sqlite;
export const postgresBackend: Backend | null = process.env.RUNHOOK_TEST_PG
  ? postgres(process.env.RUNHOOK_TEST_PG)
  : null;

export const backends: Backend[] = postgresBackend ? [sqlite, postgresBackend] : [sqlite];
