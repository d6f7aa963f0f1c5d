import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

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
  create(): Promise<TestDatabase>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'runhook-test-'));
    return {
      url: `sqlite:${join(dir, 'runhook.db')}`,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgres(baseUrl: string): Backend {
  return {
    name: 'postgres',
    async create() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.end();
      const url = new URL(baseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return {
        url: url.toString(),
        async drop() {
          if (process.env.KEEP_TEST_DB === '1') return;
          const c = new pg.Client({ connectionString: baseUrl });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await c.end();
        },
      };
    },
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
