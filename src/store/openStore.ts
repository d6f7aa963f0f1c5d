import { openPostgresStore } from './postgres/openPostgres.js';
import { openSqliteStore } from './sqlite/openSqlite.js';
import type { Store } from './store.js';

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `sqlite:./data/runhook.db`, `sqlite:/abs/path.db`, or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path.length === 0) throw new Error('the SQLite path is empty');
    return { kind: 'sqlite', path };
  }
  throw new Error('must start with sqlite: or postgres://');
}

export function openStore(target: DatabaseTarget, options: { poolSize?: number } = {}): Store {
  return target.kind === 'sqlite' ? openSqliteStore(target.path) : openPostgresStore(target.url, options);
}
