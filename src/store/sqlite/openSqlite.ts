import { EventEmitter } from 'node:events';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely } from 'kysely';
import { createKyselyStore } from '../kyselyStore.js';
import type { DialectHooks } from '../ops/context.js';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';
import { ThreadSqliteDialect } from './threadDialect.js';

/**
 * The database holds webhooks' custom header values (often a receiver's `Authorization` token) and
 * attempt logs: owner-only, like secret.key. A folder Runhook creates is 0700; the database file is
 * created 0600 before SQLite opens it, and SQLite gives its -wal and -shm files the database file's
 * mode. Files an older version left readable by others are tightened; an existing folder is left as
 * it is (it may be shared, e.g. /var/lib).
 */
export function prepareDatabaseFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') prepareDatabaseFiles(path);
  const dialect = new ThreadSqliteDialect(path, [
    // Only takes effect on a new file (before the first table): then retention can give freed pages
    // back to the filesystem (docs/operations.md#the-sqlite-file). Older files reuse them instead.
    'auto_vacuum = INCREMENTAL',
    'journal_mode = WAL',
    // After a checkpoint the -wal file is cut back to this, instead of keeping its largest size.
    'journal_size_limit = 67108864',
    // FULL: an acknowledged event survives a power cut, not only a process crash.
    'synchronous = FULL',
    'busy_timeout = 5000',
    'foreign_keys = ON',
    // 32 MB of pages (the default is 2 MB): the indexes a delivery's writes touch stay in memory
    // longer as the tables grow (docs/architecture.md#attempt-rows).
    'cache_size = -32768',
  ]);
  const db = new Kysely<Database>({ dialect });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const hooks: DialectHooks = {
    dialect: 'sqlite',
    skipLocked: false,
    runBatch: (statements, { durable }) => dialect.driver.runBatch(statements, durable),
    runUnit: (statements) =>
      dialect.driver.runUnit(
        statements.map((s) => ({
          sql: s.query.sql,
          params: s.query.parameters,
          ...(s.requireRow !== undefined && { requireRow: s.requireRow }),
        })),
        true,
        true,
      ),
    // Workers in other processes find new work by their fallback timer (at most a second).
    notifyNewWork: async (options) => {
      if (options?.local !== false) emitter.emit('work');
    },
    onNewWork: (listener) => {
      emitter.on('work', listener);
      return () => emitter.off('work', listener);
    },
    // One process writes a SQLite file: its own streams are all there are.
    notifyAttempts: (fromId) => {
      emitter.emit('attempts', fromId);
    },
    onAttempts: (listener) => {
      emitter.on('attempts', listener);
      return () => emitter.off('attempts', listener);
    },
    close: async () => {
      emitter.removeAllListeners();
    },
  };
  return createKyselyStore({ db, hooks });
}
