/**
 * The claim's plan queries read the partial indexes whatever the planner knows about the table
 * (docs/architecture.md#query-plans): SQLite has no statistics at all, PostgreSQL none until its
 * first ANALYZE. Read with a backlog of pending deliveries, on both backends. Retention reads
 * `deliveries_finished`, which holds finished deliveries only; a webhook's stats read its
 * deliveries by `deliveries_webhook`.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { closeRuntime, openRuntime } from '../../src/runtime.js';
import {
  backlogQuery,
  inFlightLease,
  leaseAllStatement,
  leaseWebhookStatement,
  othersLeasedQuery,
} from '../../src/store/ops/claimStatements.js';
import type { DialectHooks } from '../../src/store/ops/context.js';
import { lostLeasesQuery } from '../../src/store/ops/recordLostAttempts.js';
import { expiredDeliveriesQuery } from '../../src/store/ops/retention.js';
import { webhookEventsIn } from '../../src/store/ops/stats.js';
import { type Backend, backends, type TestDatabase } from '../helpers/backends.js';

const NOW = 1_900_000_000_000;
const BACKLOG = 20_000;

/** The store's schema, then BACKLOG pending deliveries over 16 webhooks (foreign keys not enforced). */
async function migrated(backend: Backend): Promise<TestDatabase> {
  const tdb = await backend.createMigrated();
  const rt = await openRuntime(
    loadConfig({
      RUNHOOK_DATABASE_URL: tdb.url,
      RUNHOOK_LOG_LEVEL: 'silent',
      RUNHOOK_SECRET_KEY: 'claim-plan-test-key-0123456789abcdef',
    }),
  );
  await closeRuntime(rt);
  return tdb;
}

const BACKLOG_SQL = (series: string) => `
  INSERT INTO deliveries (id, org_id, event_id, webhook_id, body, status, next_attempt_at, next_trigger,
                          created_at, updated_at)
  SELECT 'd' || n, 'o' || (n % 4), 'e' || n, 'w' || (n % 16), '{}', 'pending', ${NOW} - n, 'scheduled',
         ${NOW} - n, ${NOW} - n
  FROM ${series}`;

type Compiled = { sql: string; parameters: readonly unknown[] };

/** The SQLite file with BACKLOG pending deliveries (then `more` SQL), foreign keys not enforced. */
function sqliteBacklog(tdb: TestDatabase, more = ''): Database.Database {
  const db = new Database(tdb.url.slice('sqlite:'.length));
  db.pragma('foreign_keys = OFF');
  db.exec(
    BACKLOG_SQL(`(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${BACKLOG})
                  SELECT n FROM s)`),
  );
  if (more) db.exec(more);
  return db;
}

/** SQLite's EXPLAIN QUERY PLAN lines of a compiled query. */
function sqlitePlan(db: Database.Database, c: Compiled): string[] {
  return db
    .prepare(`EXPLAIN QUERY PLAN ${c.sql}`)
    .all(...(c.parameters as unknown[]))
    .map((r) => (r as { detail: string }).detail);
}

/** A one-connection pool on the PostgreSQL database with BACKLOG pending deliveries (then `more`). */
async function pgBacklog(tdb: TestDatabase, more = ''): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: tdb.url, max: 1 });
  await pool.query(
    `SET session_replication_role = replica; ${BACKLOG_SQL(`generate_series(1, ${BACKLOG}) n`)}${more ? `; ${more}` : ''}`,
  );
  return pool;
}

/** PostgreSQL's EXPLAIN of a compiled query, as one text. */
async function pgPlan(pool: pg.Pool, c: Compiled): Promise<string> {
  const r = await pool.query(`EXPLAIN ${c.sql}`, c.parameters as unknown[]);
  return r.rows.map((row: Record<string, string>) => Object.values(row)[0]).join('\n');
}

for (const backend of backends) {
  describe(`claim plan (${backend.name})`, () => {
    let tdb: TestDatabase | null = null;
    afterEach(async () => {
      await tdb?.drop();
      tdb = null;
    });

    it('skips through pending deliveries by deliveries_pending_webhook and finds lost leases by deliveries_leased_webhook', async () => {
      tdb = await migrated(backend);
      const hooks = { dialect: backend.name } as DialectHooks;
      // The lease step's rules: a lease until `until`, caps 8 and 32, nothing settled.
      const until = NOW + 30_000;
      const rules = {
        workerId: 'me',
        now: NOW,
        until,
        perWebhookCap: 8,
        perOrgCap: 32,
        inFlight: inFlightLease(hooks, { workerId: 'me', now: NOW, until, idleIds: [] }),
      };
      if (backend.name === 'sqlite') {
        const db = sqliteBacklog(tdb);
        try {
          const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
          const plan = (q: { compile(db: Kysely<unknown>): Compiled }) => sqlitePlan(db, q.compile(k));
          const backlog = plan(backlogQuery(hooks, NOW, 8));
          const onDeliveries = backlog.filter((d) => /\b(d|deliveries)\b USING/.test(d));
          expect(onDeliveries.length).toBe(4);
          for (const d of onDeliveries) expect(d).toContain('deliveries_pending_webhook');
          expect(backlog.join('\n')).not.toContain('TEMP B-TREE');
          // The lease step: the webhook's due deliveries by their partial index, in its order (no sort).
          const lease = plan(
            leaseWebhookStatement(hooks, { webhookId: 'w1', orgId: 'o1', count: 8, orgCap: 32, ...rules }),
          );
          expect(lease.join('\n')).toContain('USING INDEX deliveries_pending_webhook');
          expect(lease.join('\n')).not.toContain('TEMP B-TREE');
          const lost = plan(lostLeasesQuery(hooks, 'me', NOW));
          expect(lost.find((d) => d.includes(' d '))).toContain('USING INDEX deliveries_leased_webhook');
          // Leasing ahead's count of the other workers' leases: the leased rows only.
          expect(plan(othersLeasedQuery('me', NOW)).join('\n')).toContain('deliveries_leased_webhook');
          // And the answer is right: 16 webhooks, each with 8 due now.
          const c = backlogQuery(hooks, NOW, 8).compile(k);
          db.exec(`INSERT INTO webhooks (id, org_id, agent_id, scope_key, url, description, is_enabled, format,
                     headers, consecutive_failures, created_at, updated_at)
                   SELECT DISTINCT webhook_id, org_id, NULL, webhook_id, 'http://x', '', 1, 'standard', '{}', 0, 0, 0
                   FROM deliveries`);
          const rows = db.prepare(c.sql).all(...(c.parameters as unknown[])) as Array<{ due_now: number }>;
          expect(rows.map((r) => r.due_now)).toEqual(Array(16).fill(8));
        } finally {
          db.close();
        }
        return;
      }
      const pool = await pgBacklog(tdb);
      try {
        const k = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
        const plan = (q: { compile(db: Kysely<unknown>): Compiled }) => pgPlan(pool, q.compile(k));
        // The lease step: every webhook of a claim in one statement, each read by its partial index.
        const lease = () =>
          leaseAllStatement({
            take: [
              { webhookId: 'w1', orgId: 'o1', count: 8, orgCap: 32 },
              { webhookId: 'w2', orgId: 'o2', count: 8, orgCap: 32 },
            ],
            ...rules,
          });
        const leasePlan = await plan(lease());
        expect(leasePlan).toContain('deliveries_pending_webhook');
        expect(leasePlan).not.toMatch(/Seq Scan on deliveries/);
        const backlog = await plan(backlogQuery(hooks, NOW, 8));
        expect(backlog).toContain('deliveries_pending_webhook');
        expect(backlog).not.toMatch(/Seq Scan on deliveries/);
        expect(await plan(lostLeasesQuery(hooks, 'me', NOW))).not.toMatch(/Seq Scan on deliveries/);
        // Midway through a drain, with fresh statistics: most rows sent, the rest pending. Counting
        // a webhook's due deliveries must still read the index, not the table from its start.
        await pool.query(
          `UPDATE deliveries SET status = 'succeeded' WHERE CAST(substr(id, 2) AS integer) % 4 <> 0`,
        );
        // A few in flight, one of them lost (its lease ran out under another owner).
        await pool.query(
          `UPDATE deliveries SET lease_owner = 'w', lease_until = ${NOW} + CAST(substr(id, 2) AS integer)
           WHERE CAST(substr(id, 2) AS integer) % 400 = 0`,
        );
        await pool.query('ANALYZE deliveries');
        const midway = await plan(backlogQuery(hooks, NOW, 8));
        expect(midway).not.toMatch(/Seq Scan on deliveries/);
        expect(await plan(lostLeasesQuery(hooks, 'me', NOW + 1_000))).not.toMatch(/Seq Scan on deliveries/);
        expect(await plan(othersLeasedQuery('me', NOW))).not.toMatch(/Seq Scan on deliveries/);
        expect(await plan(lease())).not.toMatch(/Seq Scan on deliveries/);
        await k.destroy();
      } finally {
        await pool.end().catch(() => {});
      }
    });

    it('finds expired deliveries by deliveries_finished, an index of finished deliveries only', async () => {
      tdb = await migrated(backend);
      const hooks = { dialect: backend.name, skipLocked: backend.name === 'postgres' } as DialectHooks;
      // Every third delivery pending, the rest finished; those of the last 100 ms before NOW - 19,900
      // are the expired ones.
      const finish = `UPDATE deliveries SET status = CASE WHEN CAST(substr(id, 2) AS integer) % 3 = 0 THEN 'pending'
                        WHEN CAST(substr(id, 2) AS integer) % 3 = 1 THEN 'succeeded' ELSE 'failed' END`;
      const cutoff = NOW - BACKLOG + 100;
      const expired = Array.from({ length: BACKLOG }, (_, i) => i + 1).filter(
        (n) => n % 3 !== 0 && NOW - n < cutoff,
      ).length;
      if (backend.name === 'sqlite') {
        const db = sqliteBacklog(tdb, finish);
        try {
          const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
          const c = expiredDeliveriesQuery(hooks, cutoff).compile(k);
          const plan = sqlitePlan(db, c);
          expect(plan.find((d) => d.includes(' d '))).toContain(
            'USING INDEX deliveries_finished (updated_at<?)',
          );
          expect(db.prepare(c.sql).all(...(c.parameters as unknown[])).length).toBe(expired);
          // The index skips pending deliveries: it has as many entries as finished ones.
          const entries = db
            .prepare(
              `SELECT count(*) AS n FROM deliveries INDEXED BY deliveries_finished
               WHERE status IN ('succeeded', 'failed') AND updated_at > -1`,
            )
            .get() as { n: number };
          expect(entries.n).toBe(BACKLOG - Math.floor(BACKLOG / 3));
          const definition = db
            .prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'deliveries_finished'`)
            .get() as { sql: string };
          expect(definition.sql).toMatch(/where status in \('succeeded', 'failed'\)/i);
        } finally {
          db.close();
        }
        return;
      }
      const pool = await pgBacklog(tdb, `${finish}; ANALYZE deliveries`);
      try {
        const k = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
        const c = expiredDeliveriesQuery(hooks, cutoff).compile(k);
        const text = await pgPlan(pool, c);
        expect(text).toContain('deliveries_finished');
        expect(text).not.toMatch(/Seq Scan on deliveries/);
        expect((await pool.query(c.sql, c.parameters as unknown[])).rows.length).toBe(expired);
        const def = await pool.query(
          `SELECT indexdef FROM pg_indexes WHERE indexname = 'deliveries_finished'`,
        );
        expect(def.rows[0].indexdef).toMatch(/WHERE \(status = ANY/);
        await k.destroy();
      } finally {
        await pool.end().catch(() => {});
      }
    });

    it("reads one webhook's event deliveries in a window (stats, recover) by deliveries_webhook", async () => {
      tdb = await migrated(backend);
      const window = { start: NOW - 5_000, end: NOW - 1_000 };
      // Every 16th delivery is w3's; those created in the window: n in (1,000, 5,000].
      const expected = Array.from({ length: BACKLOG }, (_, i) => i + 1).filter(
        (n) => n % 16 === 3 && n > 1_000 && n <= 5_000,
      ).length;
      const query = (k: Kysely<unknown>) =>
        sql<{
          n: number | string;
        }>`SELECT count(*) AS n FROM deliveries WHERE ${webhookEventsIn('o3', 'w3', window)}`.compile(k);
      if (backend.name === 'sqlite') {
        const db = sqliteBacklog(tdb);
        try {
          const c = query(new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) }));
          const plan = sqlitePlan(db, c).join('\n');
          expect(plan).toContain(
            'USING INDEX deliveries_webhook (webhook_id=? AND created_at>? AND created_at<?)',
          );
          expect((db.prepare(c.sql).get(...(c.parameters as unknown[])) as { n: number }).n).toBe(expected);
        } finally {
          db.close();
        }
        return;
      }
      const pool = await pgBacklog(tdb, 'ANALYZE deliveries');
      try {
        const k = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
        const c = query(k);
        const text = await pgPlan(pool, c);
        expect(text).not.toMatch(/Seq Scan on deliveries/);
        expect(Number((await pool.query(c.sql, c.parameters as unknown[])).rows[0].n)).toBe(expected);
        await k.destroy();
      } finally {
        await pool.end().catch(() => {});
      }
    });
  });
}
