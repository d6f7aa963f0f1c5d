import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely';
import { createKyselyStore } from '../kyselyStore.js';
import type { DialectHooks } from '../ops/context.js';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';

/**
 * Transactions begin IMMEDIATE: they take the write lock up front, so two processes on one file
 * (an API and a `runhook worker`) wait on busy_timeout instead of failing a read-to-write upgrade.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new SqliteDatabase(path);
  raw.pragma('journal_mode = WAL');
  // FULL: an acknowledged event survives a power cut, not only a process crash.
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');

  // Kysely prepares every query it runs; caching statements by SQL text saves that work on the hot path.
  const statements = new Map<string, SqliteDatabase.Statement>();
  const cached = {
    close: () => raw.close(),
    prepare: (text: string) => {
      let stmt = statements.get(text);
      if (!stmt) {
        stmt = raw.prepare(text);
        if (statements.size > 500) statements.clear();
        statements.set(text, stmt);
      }
      return stmt;
    },
  };

  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cached }) });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const hooks: DialectHooks = {
    dialect: 'sqlite',
    skipLocked: false,
    // BEGIN IMMEDIATE already serialises writers, claims included. The claim holds the one
    // connection so that its relaxed safety level cannot leak into another transaction: SQLite only
    // lets it change outside a transaction.
    claimTransaction: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`PRAGMA synchronous = NORMAL`.execute(conn);
        try {
          return await conn.transaction().execute(fn);
        } finally {
          await sql`PRAGMA synchronous = FULL`.execute(conn);
        }
      }),
    // Workers in other processes find new work by their fallback timer (at most a second).
    notifyNewWork: async () => {
      emitter.emit('work');
    },
    onNewWork: (listener) => {
      emitter.on('work', listener);
      return () => emitter.off('work', listener);
    },
    close: async () => {
      emitter.removeAllListeners();
    },
  };
  return createKyselyStore({ db, hooks });
}
