import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely } from 'kysely';
import { createKyselyStore } from '../kyselyStore.js';
import type { DialectHooks } from '../ops/context.js';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';
import { ThreadSqliteDialect } from './sqliteThread.js';

export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const dialect = new ThreadSqliteDialect(path, [
    'journal_mode = WAL',
    // FULL: an acknowledged event survives a power cut, not only a process crash.
    'synchronous = FULL',
    'busy_timeout = 5000',
    'foreign_keys = ON',
  ]);
  const db = new Kysely<Database>({ dialect });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const hooks: DialectHooks = {
    dialect: 'sqlite',
    skipLocked: false,
    runBatch: (statements, { durable }) => dialect.driver.runBatch(statements, durable),
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
