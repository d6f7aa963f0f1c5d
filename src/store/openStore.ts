import type { DatabaseTarget } from '../config.js';
import type { Store } from './store.js';

/**
 * Opens the store for `target`, loading only that dialect's code: a command that never opens a
 * database (report, listen) loads neither pg nor the SQLite thread, and SQLite never loads pg.
 */
export async function openStore(target: DatabaseTarget, options: { poolSize?: number } = {}): Promise<Store> {
  if (target.kind === 'sqlite') return (await import('./sqlite/openSqlite.js')).openSqliteStore(target.path);
  return (await import('./postgres/openPostgres.js')).openPostgresStore(target.url, options);
}
