import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createKyselyStore } from '../kyselyStore.js';
import type { DialectHooks } from '../ops/context.js';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';
import { inlineParameters } from './simpleBatch.js';

const CHANNEL = 'runhook_work';
/** The live tail's channel (docs/architecture.md#live-tail): `<sender> <smallest attempt id>`. */
const ATTEMPTS_CHANNEL = 'runhook_attempts';
/**
 * The first halves of the advisory lock keys (the second is `hashtext` of the id): a claim's lock
 * on a webhook, on an organization (docs/architecture.md#claims), and a worker's session lock
 * (docs/delivery.md#leases-and-at-least-once). Any constants work; they only have to be the same
 * in every Runhook process. Exported for the tests.
 */
export const WEBHOOK_LOCK = 7_420_452;
export const ORG_LOCK = 7_420_453;
export const WORKER_LOCK = 7_420_454;
/** Connections of the delivery worker's pool, beside the store's 10. */
const WORKER_POOL = 4;

// int8 (bigint) columns hold epoch milliseconds and counts: well inside Number's exact range.
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
};

export function openPostgresStore(url: string, options: { poolSize?: number } = {}): Store {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // The delivery worker's own connections: a claim's plan reads three at once, its lease batch and
  // a result write one each (docs/architecture.md#the-store). Opened only when used.
  const workerPool = new pg.Pool({ connectionString: url, max: WORKER_POOL, types });
  // Its statements are short index lookups; PostgreSQL's JIT, on by default, compiles any whose
  // estimated cost passes jit_above_cost, and a claim's lease statement can estimate high (a JSON
  // list's rows are a guess): one claim spent 41 of its 47 ms emitting code. Queued before the
  // pool's first query on the connection.
  workerPool.on('connect', (client) => {
    client.query('SET jit = off').catch(() => {});
  });
  const workerDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: workerPool }) });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  /** The payload of this store's NOTIFYs, so that its listener can tell them from others'. */
  const sender = randomUUID();

  // One LISTEN connection per store, opened when the first worker subscribes. If it is lost (or
  // cannot be opened), it is reopened a second later; meanwhile the workers' fallback timer finds
  // new work within a second, and after every (re)connect they look once, for what was notified
  // while nobody listened.
  let listener: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;
  const listen = () => {
    if (closed || listener) return;
    const client = new pg.Client({ connectionString: url, types });
    listener = client;
    let lost = false;
    const reconnect = () => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = null;
      client.end().catch(() => {});
      if (!closed) {
        retry = setTimeout(listen, 1_000);
        retry.unref();
      }
    };
    // This store's own NOTIFYs come back too: its workers were woken when they were sent.
    client.on('notification', (msg) => {
      if (msg.channel === ATTEMPTS_CHANNEL) {
        const [from, fromId] = (msg.payload ?? '').split(' ');
        if (from !== sender && fromId) emitter.emit('attempts', fromId);
      } else if (msg.payload !== sender) emitter.emit('work');
    });
    client.on('error', reconnect);
    client.on('end', reconnect);
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}; LISTEN ${ATTEMPTS_CHANNEL}`))
      .then(() => {
        emitter.emit('work');
        // No id: streams read back a little, for attempts recorded while nobody listened.
        emitter.emit('attempts', '');
      }, reconnect);
  };

  // NOTIFY in a transaction of its own, never in one that writes: PostgreSQL serialises the
  // commits of all transactions that notify on one lock, held through their WAL flush, so a NOTIFY
  // in every finished run's statement made all ingest commits take turns (30–60 ms waits at 500
  // runs/s). Workers in this process are woken at once; the NOTIFY, for other processes, is
  // coalesced: one in flight at a time, and the commits made meanwhile share the next
  // (docs/architecture.md#waking-workers).
  const notifier = coalesced(async () => {
    await sql`SELECT pg_notify(${sql.lit(CHANNEL)}, ${sender})`.execute(db);
  });
  // The live tail's notice, sent like the one above: one in flight at a time, the attempts recorded
  // meanwhile covered by the next, which carries the smallest id among them.
  let attemptsFrom: string | null = null;
  const attemptsNotifier = coalesced(async () => {
    const fromId = attemptsFrom;
    attemptsFrom = null;
    if (fromId === null) return;
    await sql`SELECT pg_notify(${sql.lit(ATTEMPTS_CHANNEL)}, ${`${sender} ${fromId}`})`.execute(db);
  });
  const hooks: DialectHooks = {
    dialect: 'postgres',
    skipLocked: true,
    runBatch: batchRunner(workerPool),
    workerDb,
    workerLocks: workerLocks(url),
    notifyNewWork: async (options) => {
      if (options?.local !== false) emitter.emit('work');
      // Not awaited, and never failing the caller, whose write is committed: a NOTIFY lost with
      // its connection costs other processes at most their fallback poll (a second).
      void notifier().catch(() => {});
    },
    onNewWork: (fn) => {
      listen();
      emitter.on('work', fn);
      return () => emitter.off('work', fn);
    },
    notifyAttempts: (fromId) => {
      emitter.emit('attempts', fromId);
      if (attemptsFrom === null || fromId < attemptsFrom) attemptsFrom = fromId;
      void attemptsNotifier().catch(() => {});
    },
    onAttempts: (fn) => {
      listen();
      emitter.on('attempts', fn);
      return () => emitter.off('attempts', fn);
    },
    close: async () => {
      closed = true;
      await hooks.workerLocks?.close();
      await workerDb.destroy();
      if (retry) clearTimeout(retry);
      emitter.removeAllListeners();
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
  return createKyselyStore({ db, hooks });
}

/**
 * `send`, coalesced: a call while none is under way starts one; calls while one is under way share
 * the next, started when it ends (so each call is followed by a send that started after it). Every
 * call resolves when a send that covers it has ended.
 */
export function coalesced(send: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const p = send().finally(() => {
      if (current === p) current = null;
    });
    current = p;
    return p;
  };
  return () => {
    if (!current) return start();
    if (!next) {
      next = current
        .catch(() => {})
        .then(() => {
          next = null;
          return start();
        });
    }
    return next;
  };
}

/**
 * DialectHooks.runBatch over a pool: the whole transaction in one simple-protocol round trip when
 * its parameters can be written in as literals (simpleBatch.ts), else a round trip per statement.
 */
export function batchRunner(pool: pg.Pool): DialectHooks['runBatch'] {
  return async (statements, { durable, locks, waitForLocksMs }) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      // Not waiting for the WAL flush (durable: false): a claim lost in a server crash is
      // claimed again later.
      const setup = ['BEGIN'];
      if (!durable) setup.push('SET LOCAL synchronous_commit = off');
      if (locks && locks.length > 0)
        setup.push(...(waitForLocksMs === undefined ? [tryLocks(locks)] : waitLocks(locks, waitForLocksMs)));
      // The whole transaction in one round trip where every parameter can be written in as a
      // literal (docs/architecture.md#the-store); otherwise one per statement.
      const inlined = statements.map((q) => inlineParameters(q.sql, q.parameters));
      if (inlined.every((text): text is string => text !== null)) {
        const all = (await client.query(
          [...setup, ...inlined, 'COMMIT'].join(';\n'),
        )) as unknown as pg.QueryResult[];
        return all.slice(setup.length, setup.length + statements.length).map((r) => ({ rows: r.rows }));
      }
      await client.query(setup.join('; '));
      const results: Array<{ rows: Record<string, unknown>[] }> = [];
      for (const q of statements) {
        const res = await client.query(q.sql, q.parameters as unknown[]);
        results.push({ rows: res.rows });
      }
      await client.query('COMMIT');
      return results;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e; // the connection is unusable: the pool drops it
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
}

/** A string as an SQL literal (standard_conforming_strings is on since PostgreSQL 9.1). */
const literal = (t: string) => `'${t.replace(/'/g, "''")}'`;

/**
 * Tries a transaction advisory lock on each key (`w:` a webhook, `o:` an organization), waiting
 * for none, and records which it got (DialectHooks.runBatch): `runhook.locked`, a JSON array of
 * them, and `runhook.claim_lock`, whether it got all. Exported for the tests.
 */
export function tryLocks(keys: readonly string[]): string {
  const list = [...new Set(keys)];
  return `SELECT set_config('runhook.locked', coalesce(jsonb_agg(k), '[]'::jsonb)::text, true),
    set_config('runhook.claim_lock', (count(*) = ${list.length})::text, true)
  FROM unnest(ARRAY[${list.map(literal).join(',')}]::text[]) AS k
  WHERE pg_try_advisory_xact_lock(CASE WHEN left(k, 2) = 'o:' THEN ${ORG_LOCK} ELSE ${WEBHOOK_LOCK} END,
    hashtext(substr(k, 3)))`;
}

/**
 * Takes a transaction advisory lock on each key (`w:` a webhook, `o:` an organization), waiting for
 * each up to `ms` (lock_timeout: past it the batch fails with 55P03, lock_not_available), and
 * records them as tryLocks does. Every waiting batch takes its keys in one order (sorted), and
 * nothing that holds one of these keys waits for anything else, so waits cannot deadlock
 * (docs/architecture.md#claims). Exported for the tests.
 */
export function waitLocks(keys: readonly string[], ms: number): string[] {
  const list = [...new Set(keys)].sort();
  return [
    `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`,
    // The locks are taken row by row, in the array's order, by the subquery's volatile column.
    `SELECT set_config('runhook.locked', jsonb_agg(k)::text, true), set_config('runhook.claim_lock', 'true', true)
  FROM (SELECT k, pg_advisory_xact_lock(CASE WHEN left(k, 2) = 'o:' THEN ${ORG_LOCK} ELSE ${WEBHOOK_LOCK} END,
    hashtext(substr(k, 3))) AS l FROM unnest(ARRAY[${list.map(literal).join(',')}]::text[]) AS k) s`,
    'SET LOCAL lock_timeout = DEFAULT',
  ];
}

/**
 * The workers' session locks (DialectHooks.workerLocks), all on one connection of this process,
 * opened by the first worker. If that connection is lost, it is opened again and every lock taken
 * again: meanwhile the other workers may declare this process's leases lost and send them again
 * (at least once; docs/delivery.md#leases-and-at-least-once).
 */
function workerLocks(url: string) {
  const held = new Map<string, Promise<void>>();
  let client: Promise<pg.Client> | null = null;
  let closed = false;
  const take = (c: pg.Client, id: string) =>
    // Never waiting: another id with the same hash holds the key, and this worker then looks alive
    // as long as that one does (its leases still run out).
    c.query(`SELECT pg_try_advisory_lock(${WORKER_LOCK}, hashtext($1))`, [id]);
  const connect = (): Promise<pg.Client> => {
    if (client) return client;
    const c = new pg.Client({ connectionString: url, types });
    const lost = () => {
      if (client !== opened) return;
      client = null;
      c.end().catch(() => {});
      if (!closed && held.size > 0) setTimeout(() => void connect().catch(() => {}), 1_000).unref();
    };
    c.on('error', lost);
    c.on('end', lost);
    const opened = c.connect().then(async () => {
      for (const id of held.keys()) await take(c, id);
      return c;
    });
    opened.catch(lost);
    client = opened;
    return opened;
  };
  return {
    hold(workerId: string) {
      let taken = held.get(workerId);
      if (!taken) {
        taken = connect().then((c) => take(c, workerId).then(() => {}));
        // A failure is retried by the next claim.
        taken.catch(() => held.delete(workerId));
        if (!closed) held.set(workerId, taken);
      }
      return taken;
    },
    async release(workerId: string) {
      if (!held.delete(workerId) || !client) return;
      const c = await client.catch(() => null);
      await c?.query(`SELECT pg_advisory_unlock(${WORKER_LOCK}, hashtext($1))`, [workerId]).catch(() => {});
    },
    async close() {
      closed = true;
      held.clear();
      const c = await client?.catch(() => null);
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
