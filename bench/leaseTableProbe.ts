/**
 * A probe, not the product: what a lease table would save per delivery (bench/README.md, "Where the
 * CPU still goes"). Today a delivery's lease is two columns of its row, so each delivery row is
 * written three times (created, leased, recorded); with a table of live leases it would be written
 * twice, and the lease would be a small row inserted and deleted.
 *
 * On a copy of the real `deliveries` table (the migrations' columns and indexes, no foreign keys),
 * each round takes 32 due deliveries of a 20,000-delivery backlog over 16 webhooks through:
 * - `columns` (today): the claim's reads (live leases per webhook; each webhook's due unleased
 *   deliveries, up to 8), the lease UPDATE, then the result UPDATE that clears the lease;
 * - `table`: the same reads against the lease table, the lease INSERT, then the result: DELETE of
 *   the lease and UPDATE of the delivery (the copy has no lease indexes, which a lease table
 *   would make unneeded).
 * Only the database's work is measured: the PostgreSQL server process's CPU, or SQLite's (run in
 * this process, on its thread, synchronously). The two variants alternate, three times each.
 *
 * `node dist/bench/leaseTableProbe.js` (PROBE_PG_URL, default the bench's database; `off` for
 * SQLite only).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../src/store/openStore.js';
import { scratchSchema } from './harness.js';
import { pidCpuUs } from './meter.js';

const ROUNDS = 600;
const BATCH = 32;
const BACKLOG = 20_000;
const WEBHOOKS = 16;
const BODY = 'x'.repeat(700);

type Variant = 'columns' | 'table';

interface Db {
  exec(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  cpuUs(): Promise<number>;
}

async function probe(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  variant: Variant,
  copy: string,
): Promise<number> {
  const p = (i: number) => (dialect === 'sqlite' ? `@p${i}` : `$${i}`);
  const ids =
    dialect === 'sqlite'
      ? `(SELECT value FROM json_each(${p(1)}))`
      : `(SELECT jsonb_array_elements_text(CAST(${p(1)} AS jsonb)))`;
  const begin = dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN';
  const now = Date.now();
  // Each round: the due deliveries of one webhook after another, so that each round has some leased
  // ahead of it in the index, as a claim finds them.
  let cpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const t = now + round;
    const webhook = `w${round % WEBHOOKS}`;
    const c0 = await db.cpuUs();
    // The claim's reads.
    if (variant === 'columns') {
      await db.exec(
        `SELECT webhook_id, count(*) AS n FROM ${copy} WHERE lease_until >= ${p(1)} GROUP BY webhook_id`,
        [t],
      );
    } else {
      await db.exec(
        `SELECT webhook_id, count(*) AS n FROM ${copy}_leases WHERE until >= ${p(1)} GROUP BY webhook_id`,
        [t],
      );
    }
    const unleased =
      variant === 'columns'
        ? `(lease_until IS NULL OR lease_until < ${p(2)})`
        : `NOT EXISTS (SELECT 1 FROM ${copy}_leases l WHERE l.delivery_id = d.id AND l.until >= ${p(2)})`;
    const due = await db.exec(
      `SELECT d.id FROM ${copy} d WHERE d.status = 'pending' AND d.webhook_id = ${p(1)} AND d.next_attempt_at <= ${p(2)}
         AND ${unleased} ORDER BY d.next_attempt_at LIMIT ${BATCH}`,
      [webhook, t],
    );
    // Both variants must do the same work: a full batch each round.
    if (due.length !== BATCH)
      throw new Error(`${variant}: round ${round} found ${due.length} due deliveries`);
    const batch = JSON.stringify(due.map((r) => r.id));
    // The lease.
    await db.exec(begin);
    if (variant === 'columns') {
      await db.exec(
        `UPDATE ${copy} SET lease_owner = 'worker', lease_until = ${p(2)} WHERE id IN ${ids} RETURNING body`,
        [batch, t + 30_000],
      );
    } else {
      await db.exec(
        `INSERT INTO ${copy}_leases (delivery_id, webhook_id, org_id, owner, until)
         SELECT id, webhook_id, org_id, 'worker', ${p(2)} FROM ${copy} WHERE id IN ${ids}`,
        [batch, t + 30_000],
      );
      await db.exec(`SELECT body FROM ${copy} WHERE id IN ${ids}`, [batch]);
    }
    await db.exec('COMMIT');
    // The result.
    await db.exec(begin);
    if (variant === 'columns') {
      await db.exec(
        `UPDATE ${copy} SET status = 'succeeded', attempt_count = attempt_count + 1, lease_owner = NULL,
           lease_until = NULL, updated_at = ${p(2)} WHERE id IN ${ids} AND lease_owner = 'worker'`,
        [batch, t],
      );
    } else {
      await db.exec(`DELETE FROM ${copy}_leases WHERE delivery_id IN ${ids} AND owner = 'worker'`, [batch]);
      await db.exec(
        `UPDATE ${copy} SET status = 'succeeded', attempt_count = attempt_count + 1, updated_at = ${p(2)}
         WHERE id IN ${ids}`,
        [batch, t],
      );
    }
    await db.exec('COMMIT');
    cpu += (await db.cpuUs()) - c0;
  }
  return cpu / (ROUNDS * BATCH);
}

/** A copy of `deliveries` named `copy`, filled with a pending backlog; the lease table beside it. */
async function prepare(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  variant: Variant,
  copy: string,
  ddl: string[],
) {
  for (const text of ddl) await db.exec(text);
  if (variant === 'table') {
    // A lease table needs no lease indexes on the deliveries: the copy's indexes on lease_until go.
    const leaseIndexes =
      dialect === 'sqlite'
        ? await db.exec(
            `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '${copy}' AND sql LIKE '%lease_until%'`,
          )
        : await db.exec(
            `SELECT indexname AS name FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename = '${copy}' AND indexdef LIKE '%lease_until%'`,
          );
    if (leaseIndexes.length === 0) throw new Error(`${dialect}: the copy has no lease indexes to drop`);
    for (const r of leaseIndexes) await db.exec(`DROP INDEX "${r.name}"`);
    await db.exec(
      `CREATE TABLE ${copy}_leases (delivery_id text PRIMARY KEY, webhook_id text NOT NULL, org_id text NOT NULL,
         owner text NOT NULL, until bigint NOT NULL)`,
    );
    await db.exec(`CREATE INDEX ${copy}_leases_webhook ON ${copy}_leases (webhook_id, until)`);
    await db.exec(`CREATE INDEX ${copy}_leases_org ON ${copy}_leases (org_id, until)`);
  }
  const p = (i: number) => (dialect === 'sqlite' ? `@p${i}` : `$${i}`);
  const now = Date.now();
  const rows: unknown[] = [];
  for (let i = 0; i < BACKLOG; i++) {
    rows.push([randomUUID(), `o${i % 4}`, `w${i % WEBHOOKS}`, randomUUID(), now - BACKLOG + i]);
  }
  const each =
    dialect === 'sqlite' ? `json_each(${p(1)}) e` : `jsonb_array_elements(CAST(${p(1)} AS jsonb)) e`;
  const col = (i: number, type: string) => `CAST(e.value->>${i} AS ${type})`;
  for (let i = 0; i < rows.length; i += 1000) {
    await db.exec(
      `INSERT INTO ${copy} (id, org_id, webhook_id, event_id, test_run_id, kind, status, body, attempt_count,
         retries_done, next_attempt_at, next_trigger, final_attempt, created_at, updated_at)
       SELECT ${col(0, 'text')}, ${col(1, 'text')}, ${col(2, 'text')}, ${col(3, 'text')}, ${col(3, 'text')}, 'event',
         'pending', ${p(2)}, 0, 0, ${col(4, 'bigint')}, 'scheduled', 0, ${col(4, 'bigint')}, ${col(4, 'bigint')}
       FROM ${each}`,
      [JSON.stringify(rows.slice(i, i + 1000)), BODY],
    );
  }
}

async function sqliteRun(): Promise<Record<Variant, number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'runhook-probe-'));
  const out: Record<Variant, number[]> = { columns: [], table: [] };
  try {
    for (let i = 0; i < 3; i++) {
      for (const variant of ['columns', 'table'] as const) {
        const path = join(dir, `${variant}-${i}.db`);
        const store = await openStore({ kind: 'sqlite', path });
        await store.migrate();
        await store.close();
        const sqlite = new SqliteDatabase(path);
        sqlite.pragma('journal_mode = WAL');
        sqlite.pragma('synchronous = FULL');
        const master = sqlite
          .prepare(
            `SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'deliveries' AND sql IS NOT NULL`,
          )
          .all() as Array<{ type: string; name: string; sql: string }>;
        const copy = 'probe';
        const ddl = master
          .sort((a, b) => (a.type === 'table' ? -1 : b.type === 'table' ? 1 : 0))
          .map((m) =>
            m.sql
              .replace(/"deliveries"|\bdeliveries\b/g, copy)
              .replace(new RegExp(`\\b${m.name}\\b`), m.name.replace(/^deliveries/, copy))
              .replace(
                /,\s*(CONSTRAINT\s+\S+\s+)?FOREIGN KEY[^)]*\)\s*REFERENCES\s+\S+\s*\([^)]*\)( ON DELETE \w+( \w+)?)?/gi,
                '',
              )
              .replace(/\s+REFERENCES\s+"?\w+"?\s*\("?\w+"?\)( ON DELETE \w+( \w+)?)?/gi, ''),
          );
        const db: Db = {
          exec: async (text, params = []) => {
            const stmt = sqlite.prepare(text);
            const named = Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]));
            const args = params.length > 0 ? [named] : [];
            if (stmt.reader) return stmt.all(...args) as Array<Record<string, unknown>>;
            stmt.run(...args);
            return [];
          },
          cpuUs: async () => {
            const u = process.cpuUsage();
            return u.user + u.system;
          },
        };
        await prepare(db, 'sqlite', variant, copy, ddl);
        out[variant].push(await probe(db, 'sqlite', variant, copy));
        sqlite.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function postgresRun(url: string): Promise<Record<Variant, number[]>> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const out: Record<Variant, number[]> = { columns: [], table: [] };
  try {
    for (let i = 0; i < 3; i++) {
      for (const variant of ['columns', 'table'] as const) {
        const { schema, url: u } = await scratchSchema(admin, url, 'probe');
        try {
          const store = await openStore({ kind: 'postgres', url: u.toString() });
          await store.migrate();
          await store.close();
          const client = new pg.Client({ connectionString: u.toString() });
          await client.connect();
          try {
            const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
            const copy = 'probe';
            const ddl = [
              `CREATE TABLE ${copy} (LIKE ${schema}.deliveries INCLUDING DEFAULTS INCLUDING INDEXES)`,
            ];
            const db: Db = {
              exec: async (text, params = []) => (await client.query(text, params as unknown[])).rows,
              cpuUs: async () => pidCpuUs(pid) ?? 0,
            };
            await prepare(db, 'postgres', variant, copy, ddl);
            await client.query(`ANALYZE ${copy}`);
            out[variant].push(await probe(db, 'postgres', variant, copy));
          } finally {
            await client.end();
          }
        } finally {
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        }
      }
    }
  } finally {
    await admin.end();
  }
  return out;
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
const sqlite = await sqliteRun();
process.stdout.write(
  `SQLite, database CPU µs per delivery: lease columns ${fmt(sqlite.columns)}; lease table ${fmt(sqlite.table)}\n`,
);
const pgUrl = process.env.PROBE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/runhook_bench';
if (pgUrl !== 'off') {
  const postgres = await postgresRun(pgUrl);
  process.stdout.write(
    `PostgreSQL, server CPU µs per delivery: lease columns ${fmt(postgres.columns)}; lease table ${fmt(postgres.table)}\n`,
  );
}
