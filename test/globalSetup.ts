/**
 * Decides once per `npm test` whether the PostgreSQL half of the suite runs. With CI=true a
 * missing PostgreSQL is a failure; on a laptop without one the SQLite half runs and this says so loudly.
 */
import pg from 'pg';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/runhook_test';

async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const dbName = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  // In CI nothing else uses the test database: drop the per-test schemas earlier runs kept.
  if (process.env.CI === 'true') {
    const db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await db.connect();
    try {
      const { rows } = await db.query<{ nspname: string }>(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'",
      );
      for (const { nspname } of rows) await db.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    } finally {
      await db.end();
    }
  }
}

export default async function setup(): Promise<void> {
  const url = process.env.RUNHOOK_TEST_DATABASE_URL ?? DEFAULT_PG_URL;
  try {
    await ensureDatabase(url);
    process.env.RUNHOOK_TEST_PG = url;
  } catch (err) {
    if (process.env.CI === 'true' || process.env.RUNHOOK_TEST_REQUIRE_PG === '1') {
      throw new Error(`PostgreSQL is required in CI but not reachable at ${url}: ${(err as Error).message}`);
    }
    process.env.RUNHOOK_TEST_PG = '';
    const line = '!'.repeat(78);
    process.stderr.write(
      `\n${line}\n!! PostgreSQL not reachable at ${url}\n!! (${(err as Error).message})\n!! ONLY THE SQLITE HALF OF THE SUITE RUNS. The PostgreSQL tests were NOT run.\n!! Start PostgreSQL or set RUNHOOK_TEST_DATABASE_URL; CI=true makes this an error.\n${line}\n\n`,
    );
  }
}
