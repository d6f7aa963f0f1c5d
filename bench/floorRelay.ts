/**
 * The floor relays of bench/floorProbe.ts and of the bench's `floor` phase (bench/README.md, "The
 * floor of a durable relay"): relays with none of Runhook's features that still log every attempt
 * durably, each against bench/receiver.ts in its own process.
 * - `log`: one worker with its queue in memory. Deliveries are read from a SQLite file in pages of
 *   256, signed with Runhook's signer (src/domain/signing.ts), posted with one undici Pool of 64
 *   connections (the variants share it, open from their warm-up on), and each attempt is logged: the answers of up to 4 ms (at most 64) go into one
 *   transaction, an attempt INSERT and a delivery UPDATE each, committed with `synchronous = FULL`,
 *   as Runhook's results are. better-sqlite3 on the main thread: no thread hop, no message.
 * - `lease+log`: as `log`, but each delivery is first leased (an UPDATE … RETURNING of up to 64
 *   due, unleased rows in due order through a partial index, committed with `synchronous = NORMAL`,
 *   as Runhook's leases are): the least a table shared by several workers needs.
 * - `real tables`: `lease+log` on Runhook's own `deliveries` and `attempts` (the migrations' columns
 *   and indexes, foreign keys off): what the schema adds.
 * - `postgres`: `lease+log` on PostgreSQL, in a schema of its own: a lease statement with
 *   `FOR UPDATE SKIP LOCKED` and `synchronous_commit = off`, and the record as two statements over
 *   one JSON array parameter, committed durably.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Pool } from 'undici';
import { timeOrderedUuid } from '../src/domain/ids.js';
import { buildDeliveryHeaders } from '../src/domain/signing.js';
import { openStore } from '../src/store/openStore.js';
import { USER_AGENT } from '../src/version.js';
import type { ReceiverHandle } from './endToEnd.js';
import { postgresReachable, sampleDeliveries, scratchSchema } from './harness.js';
import { PgBackendCpu, processCpuUs } from './meter.js';
/** Deliveries in flight, as RUNHOOK_WORKER_CONCURRENCY's default and the raw Pool's connections. */
export const CONCURRENCY = 64;
const WINDOW_MS = 4;
const FLUSH_AT = 64;
const PAGE = 256;
const LEASE_MS = 60_000;
const RESPONSE_CAP = 64 * 1024;

export type Variant = 'log' | 'lease+log' | 'real tables' | 'postgres';

export interface Relayed {
  delivered: number;
  seconds: number;
  /** Every thread of this process. */
  cpuUs: number;
  /** SQLite: its synchronous calls (their process CPU, the main thread's mostly); PostgreSQL: the server's backends. */
  dbCpuUs: number;
}

interface Row {
  id: string;
  body: string;
  next_attempt_at: number | string;
}

interface Result {
  id: string;
  startedAt: number;
  ms: number;
  status: number | null;
  errorClass: string | null;
  request: string;
  response: string | null;
}

/** One variant's table and its statements. */
export interface Queue {
  /** How many `next` is asked for at a time: a page of the table, or one lease batch. */
  batch: number;
  /** The next `n` due deliveries (at most), leased to `owner` where the variant leases. */
  next(owner: string, n: number): Row[] | Promise<Row[]>;
  /** Logs the attempts and settles their deliveries, in one durable transaction. */
  record(owner: string, rows: readonly Result[]): void | Promise<void>;
  /** Attempts logged so far. */
  attempts(): Promise<number>;
  /** The database's CPU, where it is another process (PostgreSQL's backends). */
  serverCpu?: { start(): Promise<void>; stop(): Promise<number> };
  close(): Promise<void>;
}

function openFile(path: string): SqliteDatabase.Database {
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** Runs `leaseAll` with `synchronous = NORMAL`: a lease runs out, so it need not survive a power cut (as Runhook's). */
function leasing(db: SqliteDatabase.Database, leaseAll: (now: number) => Row[]): Row[] {
  db.pragma('synchronous = NORMAL');
  try {
    return db.transaction(() => leaseAll(Date.now()))();
  } finally {
    db.pragma('synchronous = FULL');
  }
}

function sqliteQueue(db: SqliteDatabase.Database, q: Pick<Queue, 'batch' | 'next' | 'record'>): Queue {
  const count = db.prepare('SELECT count(*) AS n FROM attempts');
  return {
    ...q,
    attempts: async () => (count.get() as { n: number }).n,
    close: async () => {
      db.close();
    },
  };
}

/**
 * The tables of `log`, `lease+log` and `postgres`, as small as a durable relay's can be. The same
 * text on both databases (SQLite gives `bigint` an integer affinity).
 */
const MINIMAL_TABLES = `
  CREATE TABLE deliveries (
    id text PRIMARY KEY, url text NOT NULL, body text NOT NULL, status text NOT NULL,
    attempt_count integer NOT NULL, next_attempt_at bigint NOT NULL,
    lease_owner text, lease_until bigint, updated_at bigint NOT NULL);
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE TABLE attempts (
    id text PRIMARY KEY, delivery_id text NOT NULL, attempt_number integer NOT NULL,
    started_at bigint NOT NULL, response_time_ms integer, http_status integer, error_class text,
    request text NOT NULL, response text);
  CREATE INDEX attempts_delivery ON attempts (delivery_id);`;

/** A table of this probe's own: `log` and `lease+log`. */
export function minimalQueue(
  path: string,
  leases: boolean,
  bodies: readonly string[],
  url: string,
  count: number,
): Queue {
  const db = openFile(path);
  db.exec(MINIMAL_TABLES);
  const insert = db.prepare(
    `INSERT INTO deliveries (id, url, body, status, attempt_count, next_attempt_at, updated_at)
     VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(timeOrderedUuid(now), url, bodies[i % bodies.length], i, now);
  })();

  // Without leases, the one worker reads on from the last due time it was handed.
  const page = db.prepare(
    `SELECT id, body, next_attempt_at FROM deliveries INDEXED BY deliveries_due
     WHERE status = 'pending' AND next_attempt_at > ? ORDER BY next_attempt_at LIMIT ?`,
  );
  let cursor = -1;
  const lease = db.prepare(
    `UPDATE deliveries SET lease_owner = ?, lease_until = ?
     WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_due
                  WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                  ORDER BY next_attempt_at LIMIT ?)
     RETURNING id, body, next_attempt_at`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (id, delivery_id, attempt_number, started_at, response_time_ms, http_status,
                           error_class, request, response)
     SELECT ?, id, attempt_count + 1, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?`,
  );
  const settle = db.prepare(
    `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, lease_owner = NULL,
       lease_until = NULL, updated_at = ? WHERE id = ?`,
  );
  return sqliteQueue(db, {
    batch: leases ? CONCURRENCY : PAGE,
    next: (owner, n) => {
      if (leases) return leasing(db, (at) => lease.all(owner, at + LEASE_MS, at, at, n) as Row[]);
      const rows = page.all(cursor, n) as Row[];
      cursor = Number(rows.at(-1)?.next_attempt_at ?? cursor);
      return rows;
    },
    record: recordIn(db, (r, at) => {
      insertAttempt.run(...attemptParams(r, at));
      settle.run(outcome(r), at, r.id);
    }),
  });
}

/** A SQLite variant's record step: one transaction, `logOne` for each answered attempt. */
function recordIn(db: SqliteDatabase.Database, logOne: (r: Result, at: number, owner: string) => void) {
  return db.transaction((owner: string, rows: readonly Result[]) => {
    const at = Date.now();
    for (const r of rows) logOne(r, at, owner);
  });
}

/** The attempt insert's parameters, both SQLite tables' statements take them in this order. */
function attemptParams(r: Result, at: number): unknown[] {
  return [timeOrderedUuid(at), r.startedAt, r.ms, r.status, r.errorClass, r.request, r.response, r.id];
}

function outcome(r: Result): 'succeeded' | 'failed' {
  return r.status !== null && r.status < 300 ? 'succeeded' : 'failed';
}

/**
 * `real tables`: Runhook's own `deliveries` and `attempts` (the migrations' columns and indexes,
 * foreign keys off), with `lease+log`'s plain statements: what the schema costs, apart from
 * Runhook's statements and machinery.
 */
export async function realQueue(path: string, bodies: readonly string[], count: number): Promise<Queue> {
  const store = await openStore({ kind: 'sqlite', path });
  await store.migrate();
  await store.close();
  const db = openFile(path);
  db.pragma('foreign_keys = OFF');
  const [orgId, webhookId] = [timeOrderedUuid(), timeOrderedUuid()];
  const insert = db.prepare(
    `INSERT INTO deliveries (id, org_id, event_id, webhook_id, test_run_id, kind, status, body, attempt_count,
       retries_done, next_attempt_at, next_trigger, final_attempt, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'event', 'pending', ?, 0, 0, ?, 'scheduled', 0, ?, ?)`,
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = timeOrderedUuid(now);
      insert.run(id, orgId, id, webhookId, id, bodies[i % bodies.length], i, now, now);
    }
  })();
  const lease = db.prepare(
    `UPDATE deliveries SET lease_owner = ?, lease_until = ?
     WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_pending_webhook
                  WHERE status = 'pending' AND webhook_id = ? AND next_attempt_at <= ?
                    AND (lease_until IS NULL OR lease_until < ?)
                  ORDER BY next_attempt_at LIMIT ?)
     RETURNING id, body, next_attempt_at`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (id, delivery_id, attempt_number, trigger, started_at, response_time_ms,
                           http_status, error_class, error_message, request, response)
     SELECT ?, id, attempt_count + 1, next_trigger, ?, ?, ?, ?, NULL, ?, ? FROM deliveries
     WHERE id = ? AND lease_owner = ?`,
  );
  const settle = db.prepare(
    `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, next_attempt_at = NULL,
       lease_owner = NULL, lease_until = NULL, last_http_status = ?, last_response_time_ms = ?, updated_at = ?
     WHERE id = ? AND lease_owner = ?`,
  );
  return sqliteQueue(db, {
    batch: CONCURRENCY,
    next: (owner, n) => leasing(db, (at) => lease.all(owner, at + LEASE_MS, webhookId, at, at, n) as Row[]),
    record: recordIn(db, (r, at, owner) => {
      insertAttempt.run(...attemptParams(r, at), owner);
      settle.run(outcome(r), r.status, r.ms, at, r.id, owner);
    }),
  });
}

/** `postgres`: `lease+log` on PostgreSQL, in a schema of its own, dropped by `close`. */
export async function pgQueue(
  pgUrl: string,
  bodies: readonly string[],
  url: string,
  count: number,
): Promise<Queue> {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  const { schema, url: target } = await scratchSchema(admin, pgUrl, 'floor');
  target.searchParams.set('application_name', schema);
  // As Runhook's worker pool: a few connections, the claim and the records on separate ones.
  const pool = new pg.Pool({ connectionString: target.toString(), max: 4 });
  await pool.query(MINIMAL_TABLES);
  const now = Date.now();
  for (let i = 0; i < count; i += 1_000) {
    const rows = Array.from({ length: Math.min(1_000, count - i) }, (_, k) => [
      timeOrderedUuid(now),
      bodies[(i + k) % bodies.length],
      i + k,
    ]);
    await pool.query(
      `INSERT INTO deliveries (id, url, body, status, attempt_count, next_attempt_at, updated_at)
       SELECT e->>0, $2, e->>1, 'pending', 0, CAST(e->>2 AS bigint), $3 FROM jsonb_array_elements($1::jsonb) AS e`,
      [JSON.stringify(rows), url, now],
    );
  }
  await pool.query('ANALYZE deliveries');
  const inTransaction = async <T>(setup: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query(setup);
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  };
  let meter: PgBackendCpu | null = null;
  return {
    batch: CONCURRENCY,
    next: (owner, n) =>
      inTransaction('BEGIN; SET LOCAL synchronous_commit = off', async (c) => {
        const at = Date.now();
        const r = await c.query<Row>(
          `UPDATE deliveries SET lease_owner = $1, lease_until = $2
           WHERE id = ANY(ARRAY(SELECT id FROM deliveries
                                WHERE status = 'pending' AND next_attempt_at <= $3
                                  AND (lease_until IS NULL OR lease_until < $3)
                                ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED))
           RETURNING id, body, next_attempt_at`,
          [owner, at + LEASE_MS, at, n],
        );
        return r.rows;
      }),
    record: (owner, rows) =>
      inTransaction('BEGIN', async (c) => {
        const at = Date.now();
        const json = JSON.stringify(
          rows.map((r) => [
            r.id,
            timeOrderedUuid(at),
            r.startedAt,
            r.ms,
            r.status,
            r.errorClass,
            r.request,
            r.response,
            outcome(r),
          ]),
        );
        await c.query(
          `INSERT INTO attempts (id, delivery_id, attempt_number, started_at, response_time_ms, http_status,
                                 error_class, request, response)
           SELECT e->>1, d.id, d.attempt_count + 1, CAST(e->>2 AS bigint), CAST(e->>3 AS integer),
                  CAST(e->>4 AS integer), e->>5, e->>6, e->>7
           FROM jsonb_array_elements($1::jsonb) AS e JOIN deliveries d ON d.id = e->>0 AND d.lease_owner = $2`,
          [json, owner],
        );
        await c.query(
          `UPDATE deliveries d SET status = e->>8, attempt_count = d.attempt_count + 1, lease_owner = NULL,
             lease_until = NULL, updated_at = $3
           FROM jsonb_array_elements($1::jsonb) AS e WHERE d.id = e->>0 AND d.lease_owner = $2`,
          [json, owner, at],
        );
      }),
    attempts: async () =>
      Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM attempts')).rows[0]?.n),
    serverCpu: {
      start: () => {
        meter = new PgBackendCpu(admin, schema);
        return meter.start();
      },
      stop: () => meter?.stop() ?? Promise.resolve(0),
    },
    close: async () => {
      await pool.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/**
 * Delivers the next `count` due deliveries of `queue` and logs each attempt durably. `pool` is the
 * probe's one client, its connections open from the warm-up on, as a running worker's are.
 */
export async function relay(
  queue: Queue,
  count: number,
  pool: Pool,
  url: string,
  secret: string,
): Promise<Relayed> {
  const owner = `floor-${randomBytes(4).toString('hex')}`;
  let dbCpuUs = 0;
  /** CPU of the synchronous database calls (SQLite); a server's is measured there (serverCpu). */
  const timed = <T>(f: () => T): T => {
    if (queue.serverCpu) return f();
    const c0 = processCpuUs();
    try {
      return f();
    } finally {
      dbCpuUs += processCpuUs() - c0;
    }
  };

  const ready: Row[] = [];
  let handedOut = 0;
  let fetching: Promise<number> | null = null;
  const take = async (): Promise<Row | undefined> => {
    for (;;) {
      if (handedOut >= count) return undefined;
      const row = ready.shift();
      if (row) {
        handedOut++;
        return row;
      }
      fetching ??= (async () => {
        const rows = await timed(() => queue.next(owner, Math.min(queue.batch, count - handedOut)));
        for (const r of rows) ready.push(r);
        return rows.length;
      })().finally(() => {
        fetching = null;
      });
      if ((await fetching) === 0 && ready.length === 0) throw new Error(`the table ran out at ${handedOut}`);
    }
  };

  const answered: Result[] = [];
  const writing = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let logged = 0;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const rows = answered.splice(0);
    if (rows.length === 0) return;
    const done = Promise.resolve(timed(() => queue.record(owner, rows))).then(() => {
      logged += rows.length;
      writing.delete(done);
    });
    writing.add(done);
  };
  const answer = (r: Result) => {
    answered.push(r);
    if (answered.length >= FLUSH_AT) flush();
    else timer ??= setTimeout(flush, WINDOW_MS);
  };

  const send = async (d: Row) => {
    const headers = buildDeliveryHeaders({
      format: 'standard',
      eventId: d.id,
      timestampSec: Math.floor(Date.now() / 1000),
      body: d.body,
      secret,
      customHeaders: {},
      userAgent: USER_AGENT,
    });
    const request = JSON.stringify({ url, headers });
    const startedAt = Date.now();
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: '/hook', method: 'POST', headers, body: d.body });
      const text = await res.body.text();
      answer({
        id: d.id,
        startedAt,
        ms: Math.round(performance.now() - t0),
        status: res.statusCode,
        errorClass: res.statusCode < 300 ? null : 'http_error',
        request,
        response: JSON.stringify({ headers: res.headers, body: text.slice(0, RESPONSE_CAP) }),
      });
    } catch (err) {
      answer({
        id: d.id,
        startedAt,
        ms: Math.round(performance.now() - t0),
        status: null,
        errorClass: 'connection_error',
        request,
        response: JSON.stringify({ error: String(err) }),
      });
    }
  };

  await queue.serverCpu?.start();
  const cpu0 = processCpuUs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let d = await take(); d; d = await take()) await send(d);
    }),
  );
  flush();
  await Promise.all(writing);
  const seconds = (performance.now() - t0) / 1000;
  const cpuUs = processCpuUs() - cpu0;
  if (queue.serverCpu) dbCpuUs = await queue.serverCpu.stop();
  if (logged !== handedOut) throw new Error(`${handedOut} sent, ${logged} logged`);
  return { delivered: logged, seconds, cpuUs, dbCpuUs };
}

/** One floor relay's drain in the bench: deliveries/s, CPU µs per delivery of this process, and of the database. */
export interface FloorCell {
  delivered: number;
  rps: number;
  cpuUsPerDelivery: number;
  /** SQLite: its synchronous calls (inside `cpuUsPerDelivery`); PostgreSQL: the server's backends (besides it). */
  dbCpuUsPerDelivery: number;
}

export interface FloorResult {
  /** `real tables`: `lease+log` on Runhook's own SQLite tables. */
  sqlite: FloorCell;
  /** `postgres`; null when `pgUrl` is null or not reachable. */
  postgres: FloorCell | null;
}

/**
 * The bench's `floor` phase: `real tables` and `postgres`, each warmed up on `warmup` deliveries,
 * then drained of `deliveries` against `receiver`, which must get each exactly once with one
 * attempt logged (else it throws).
 */
export async function measureFloor(opts: {
  receiver: { origin: string; handle: ReceiverHandle };
  deliveries: number;
  warmup: number;
  pgUrl: string | null;
}): Promise<FloorResult> {
  const { receiver, deliveries, warmup } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'runhook-floor-'));
  const pool = new Pool(receiver.origin, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const queues: Queue[] = [];
  try {
    const { bodies } = sampleDeliveries(256);
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const url = receiver.handle.url;
    const total = warmup + deliveries;
    const sqlite = await realQueue(join(dir, 'real.db'), bodies, total);
    queues.push(sqlite);
    const postgres =
      opts.pgUrl !== null && (await postgresReachable(opts.pgUrl))
        ? await pgQueue(opts.pgUrl, bodies, url, total)
        : null;
    if (postgres) queues.push(postgres);
    const drain = async (label: string, queue: Queue): Promise<FloorCell> => {
      if (warmup > 0) await relay(queue, warmup, pool, url, secret);
      const before = await queue.attempts();
      receiver.handle.start({ keepArrivals: false });
      const r = await relay(queue, deliveries, pool, url, secret);
      const got = await receiver.handle.collect({ keepArrivals: false });
      const logged = (await queue.attempts()) - before;
      if (got.count !== r.delivered || logged !== r.delivered || got.duplicates !== 0)
        throw new Error(
          `floor ${label}: ${r.delivered} delivered, receiver got ${got.count}, ${logged} logged`,
        );
      return {
        delivered: r.delivered,
        rps: r.delivered / r.seconds,
        cpuUsPerDelivery: r.cpuUs / r.delivered,
        dbCpuUsPerDelivery: r.dbCpuUs / r.delivered,
      };
    };
    return {
      sqlite: await drain('real tables', sqlite),
      postgres: postgres ? await drain('postgres', postgres) : null,
    };
  } finally {
    await pool.close();
    for (const q of queues) await q.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
