/**
 * Decides once per `npm test` what the machine can run: the PostgreSQL half of the suite, the
 * dashboard suites in Chromium, the Flask example. With CI=true anything missing is a failure; on a
 * laptop without them the rest runs, this says so loudly at the start, and test/skipReport.ts
 * repeats it after the summary with how to enable each part.
 */
import pg from 'pg';
import { prepareTemplates } from './helpers/backends.js';
import { ensureBuilt } from './helpers/cli.js';
import {
  CHROMIUM_ENV,
  FLASK_ENV,
  findChromium,
  hasFlask,
  SKIPPED_ENV,
  type Skipped,
} from './helpers/environment.js';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/runhook_test';

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

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

const inCI = () => process.env.CI === 'true';

function banner(lines: string[]): void {
  const line = '!'.repeat(78);
  process.stderr.write(`\n${line}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${line}\n\n`);
}

export default async function setup(): Promise<() => void> {
  const skipped: Skipped[] = [];
  // Once, before the forks start: files that spawn the CLI each call ensureBuilt() too, which
  // then finds dist/ current instead of several forks rebuilding it at once.
  ensureBuilt();
  await setupPostgres(skipped);
  // The migrated databases each test copies (test/helpers/backends.ts).
  const removeTemplates = await prepareTemplates(process.env.RUNHOOK_TEST_PG || null);

  const browser = await findChromium();
  process.env[CHROMIUM_ENV] = browser.path ?? '';
  if (browser.path === null) {
    if (inCI()) throw new Error(`Chromium is required in CI but was not found: ${browser.why}`);
    skipped.push({
      what: 'the dashboard suites in Chromium (test/web)',
      why: browser.why,
      enable: 'apt-get install chromium (Debian/Ubuntu), or set CHROMIUM_PATH to a Chrome/Chromium binary',
    });
    banner([`Chromium not found: ${browser.why}`, 'THE DASHBOARD SUITES (test/web) ARE SKIPPED.']);
  }

  const flask = hasFlask();
  process.env[FLASK_ENV] = flask ? '1' : '';
  if (!flask) {
    if (inCI()) throw new Error("Flask is required in CI: `python3 -c 'import flask'` failed");
    skipped.push({
      what: 'the Flask example (examples/flask)',
      why: "`python3 -c 'import flask'` failed",
      enable: 'apt-get install python3-flask, or pip install flask',
    });
  }

  process.env[SKIPPED_ENV] = JSON.stringify(skipped);
  return removeTemplates;
}

async function setupPostgres(skipped: Skipped[]): Promise<void> {
  const url = process.env.RUNHOOK_TEST_DATABASE_URL ?? DEFAULT_PG_URL;
  try {
    await ensureDatabase(url);
    process.env.RUNHOOK_TEST_PG = url;
  } catch (err) {
    if (inCI() || process.env.RUNHOOK_TEST_REQUIRE_PG === '1') {
      throw new Error(
        `PostgreSQL is required in CI but not reachable at ${redact(url)}: ${(err as Error).message}`,
      );
    }
    process.env.RUNHOOK_TEST_PG = '';
    const why = `not reachable at ${redact(url)} (${(err as Error).message})`;
    skipped.push({
      what: 'the PostgreSQL half of every integration suite, and test/scale',
      why,
      enable: 'start PostgreSQL (pg_ctlcluster 15 main start) or set RUNHOOK_TEST_DATABASE_URL',
    });
    banner([
      `PostgreSQL ${why}`,
      'ONLY THE SQLITE HALF OF THE SUITE RUNS. The PostgreSQL tests were NOT run.',
      'Start PostgreSQL or set RUNHOOK_TEST_DATABASE_URL; CI=true makes this an error.',
    ]);
  }
}
