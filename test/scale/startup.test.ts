/**
 * Startup and wake-up across processes on PostgreSQL (docs/scaling-out.md):
 * - three `runhook migrate` started at the same moment on a fresh schema all succeed, and the
 *   migrations are applied once (Kysely's PostgresAdapter holds an advisory lock while migrating),
 *   also while another client creates and drops schemas in the same database;
 * - an event accepted by an API process (`serve --no-worker`) wakes an idle `runhook worker` in
 *   another process through LISTEN/NOTIFY: it is delivered far sooner than the 1 s fallback poll
 *   that would otherwise find it; and when the worker's LISTEN connection is killed, it listens
 *   again and the wake-ups are as quick as before.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/security/apiKeys.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import type { TestDatabase } from '../helpers/backends.js';
import { ensureBuilt } from '../helpers/cli.js';
import { eventually } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { Processes, scaleBackend, sqlClient } from './support.js';

beforeAll(() => ensureBuilt(), 120_000);

/** Events sent one at a time to an idle worker, at irregular intervals. */
const WAKE_UPS = 20;

describe.skipIf(!scaleBackend)('starting several processes on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let receiver: Receiver | undefined;
  const processes = new Processes();

  afterEach(async () => {
    await processes.killAll();
    await receiver?.close();
    await db?.drop();
  });

  it('three `runhook migrate` at once on a fresh schema, while another client drops schemas: all succeed, each migration applied once', async () => {
    db = await scaleBackend!.create();
    // Another user of the database creates and drops schemas meanwhile (as other test files do):
    // Kysely's catalog reads before migrating must not fail the migration.
    const churners = await Promise.all([1, 2].map(() => sqlClient(db!.url)));
    let churning = true;
    const churned = churners.map(async (churn, k) => {
      for (let i = 0; churning; i++) {
        const name = `churn_${process.pid}_${k}_${i}`;
        await churn.query(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.t (id serial PRIMARY KEY)`);
        await churn.query(`DROP SCHEMA ${name} CASCADE`);
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    const runs = Array.from({ length: 3 }, () =>
      processes.start(['migrate'], { RUNHOOK_DATABASE_URL: db!.url }),
    );
    const codes = await Promise.all(runs.map((p) => p.exited));
    churning = false;
    await Promise.all(churned);
    await Promise.all(churners.map((c) => c.end()));
    expect(codes, runs.map((p) => p.output()).join('\n---\n')).toEqual([0, 0, 0]);
    for (const p of runs) expect(p.output()).toContain('migrations applied (postgres)');

    const client = await sqlClient(db.url);
    try {
      const applied = await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
      const expected = Object.keys(await migrationProvider.getMigrations()).sort();
      expect(applied.rows.map((r) => r.name)).toEqual(expected);
      const tables = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_name IN ('deliveries', 'attempts', 'events')`,
      );
      expect(tables.rows[0]!.n).toBe(3);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('an event accepted by an API process wakes an idle worker process at once (LISTEN/NOTIFY, not the 1 s poll), also after its LISTEN connection is killed', async () => {
    db = await scaleBackend!.create();
    receiver = await startReceiver();
    const apiKey = generateApiKey();
    const env = { RUNHOOK_DATABASE_URL: db.url, RUNHOOK_PORT: '0', RUNHOOK_BOOTSTRAP_API_KEY: apiKey };
    const api = processes.start(['serve', '--no-worker'], env);
    const out = await api.waitForOutput(/listening on (http:\/\/\S+) /, 20_000);
    const base = /listening on (http:\/\/\S+) /.exec(out)![1]!;
    // Names the worker's connections, so that this test can find its LISTEN session among others'.
    const appName = `runhook-wakeup-${process.pid}-${Date.now()}`;
    const worker = processes.start(['worker'], { RUNHOOK_DATABASE_URL: db.url, PGAPPNAME: appName });
    await worker.waitForOutput('started');

    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as { id: string };
    };
    const agent = await call('POST', '/agents', { name: 'Wake-up agent' });
    await call('POST', '/webhooks', { url: receiver.url });

    const measure = async (what: string) => {
      const latencies: number[] = [];
      for (let i = 0; i < WAKE_UPS; i++) {
        // Irregular gaps, so that a worker polling every second would be caught at every phase.
        await new Promise((r) => setTimeout(r, 150 + ((i * 37) % 100)));
        const before = receiver!.requests.length;
        const sent = Date.now();
        await call('POST', '/runs', { agent_id: agent.id, status: 'completed', passed_count: 1 });
        await receiver!.waitFor(before + 1, 5_000);
        latencies.push(receiver!.requests[before]!.at - sent);
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      const p50 = sorted[Math.floor(sorted.length / 2)]!;
      const max = sorted.at(-1)!;
      process.stdout.write(
        `[scale] wake-up across processes (${what}): run finished through the API → delivery received, ` +
          `${WAKE_UPS} events: p50 ${p50} ms, max ${max} ms (fallback poll: 1000 ms)\n`,
      );
      // Polling every second would put the median near 500 ms. The median is the test: single
      // outliers on a loaded 2-core CI machine (seen: 862 ms while a benchmark ran) prove nothing.
      expect(p50).toBeLessThan(250);
      expect(max).toBeLessThan(3_000);
    };
    await measure('first connection');

    const client = await sqlClient(db.url);
    try {
      const killed = await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND query LIKE 'LISTEN runhook_work%'`,
        [appName],
      );
      expect(killed.rowCount).toBe(1);
      // The worker listens again a second later.
      await eventually(
        async () => {
          const again = await client.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN runhook_work%'`,
            [appName],
          );
          return again.rowCount === 1;
        },
        5_000,
        'the worker to LISTEN again',
      );
    } finally {
      await client.end();
    }
    await measure('after its LISTEN connection was killed');
  }, 60_000);
});
