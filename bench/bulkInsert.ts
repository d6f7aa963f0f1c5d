/**
 * The bulk backlog's inserting process (forked by bench/backlog.ts): one request over IPC, its own
 * connection, then it exits. In a process of its own, its page cache (1 GiB on SQLite) and garbage
 * stay out of the bench process's CPU and memory figures.
 *
 * Why a big cache and big transactions: the primary keys (and the event and run ids the deliveries
 * point to) are random UUIDs, as in production, so each transaction dirties pages all over half a
 * dozen indexes, and SQLite writes every dirty page to the WAL and back at each commit (and spills
 * them early when its cache is full). With 10,000 runs per transaction and the default 2 MB cache,
 * a million runs wrote ~100 GB and took 589 s; with 100,000 and a cache that holds the dirty pages,
 * ~35 GB and 259 s (bench/README.md).
 */
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/store/schema.js';
import { type BulkInsertReply, type BulkInsertRequest, insertBulk } from './backlog.js';

function open(target: BulkInsertRequest['target']): Kysely<Database> {
  if (target.kind === 'sqlite') {
    const db = new SqliteDatabase(target.path);
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -1048576');
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
  }
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 1 }) }),
  });
}

process.once('message', (request: BulkInsertRequest) => {
  const db = open(request.target);
  insertBulk({ db, orgs: request.orgs, runs: request.runs, publicUrl: request.publicUrl, batch: 100_000 })
    .then(
      () => ({ type: 'done' }) as const,
      (err: unknown) =>
        ({ type: 'failed', message: err instanceof Error ? err.message : String(err) }) as const,
    )
    .then(async (reply: BulkInsertReply) => {
      await db.destroy();
      process.send?.(reply, () => process.exit(0));
    });
});
