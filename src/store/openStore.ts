import type { Store } from './store.js';

/**
 * Which database to open: RUNHOOK_DATABASE_URL parsed (config.ts's `database`, passed in by the
 * caller; the store does not read the configuration).
 */
export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * Opens the store for `target`, loading only that dialect's code: a command that never opens a
 * database (report, listen) loads neither pg nor the SQLite thread, and SQLite never loads pg.
 */
export async function openStore(target: StoreTarget, options: { poolSize?: number } = {}): Promise<Store> {
  if (target.kind === 'sqlite') return (await import('./sqlite/openSqlite.js')).openSqliteStore(target.path);
  return (await import('./postgres/openPostgres.js')).openPostgresStore(target.url, options);
}
