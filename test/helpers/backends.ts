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

function schemaUrl(baseUrl: string, schema: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
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
    await withClient(baseUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  }
}

let pgTemplate: Promise<string | null> | null = null;

function postgres(baseUrl: string): Backend {
  async function newSchema(fromTemplate: boolean): Promise<TestDatabase> {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    let sql: string | null = null;
    if (fromTemplate) {
      const fromSetup = process.env[PG_TEMPLATE_ENV];
      pgTemplate ??= fromSetup
        ? Promise.resolve(readFileSync(fromSetup, 'utf8'))
        : migratedSchemaSql(baseUrl);
      sql = await pgTemplate;
    }
    await withClient(baseUrl, async (c) => {
      if (sql === null) await c.query(`CREATE SCHEMA ${schema}`);
      else await c.query(sql.replaceAll(TEMPLATE_SCHEMA, schema));
    });
    return {
      url: schemaUrl(baseUrl, schema),
      async drop() {
        if (process.env.KEEP_TEST_DB === '1') return;
        await withClient(baseUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
      },
    };
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
export async function prepareTemplates(pgUrl: string | null): Promise<() => void> {
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
  return () => {
    rmSync(join(sqlitePath, '..'), { recursive: true, force: true });
    if (sqlFile) rmSync(join(sqlFile, '..'), { recursive: true, force: true });
  };
}

/**
 * The backends every integration suite runs against: `for (const backend of backends)`.
 * PostgreSQL is in the list whenever test/globalSetup.ts found it (always in CI).
 */
export const backends: Backend[] = process.env.RUNHOOK_TEST_PG
  ? [sqlite, postgres(process.env.RUNHOOK_TEST_PG)]
  : [sqlite];

export const sqliteBackend = sqlite;
export const postgresBackend: Backend | null = process.env.RUNHOOK_TEST_PG
  ? postgres(process.env.RUNHOOK_TEST_PG)
  : null;
