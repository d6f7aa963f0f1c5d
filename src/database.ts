/**
 * Opens a process's database: the store, migrated. Apart from the runtime (src/runtime.ts) so
 * that a command that needs only the store (`orgs`, `keys`) loads neither the logger nor the HTTP
 * client.
 */
import { type Config, ConfigError, redactDatabaseUrl } from './config.js';
import { openStore } from './store/openStore.js';
import type { Store } from './store/store.js';

// Failures to reach or open the database at all, as opposed to a failing statement.
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '28P01', // password authentication failed
  '28000', // no such role / not allowed
  '3D000', // no such database
  'SQLITE_CANTOPEN',
]);

/** A database that cannot be reached or opened is a RUNHOOK_DATABASE_URL problem: say so. */
function databaseError(err: unknown, config: Config): Error {
  const e = err as { code?: string; message?: string };
  if (!UNREACHABLE.has(e?.code ?? '') && !/^cannot open SQLite database/.test(e?.message ?? '')) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const message = e.message ?? e.code ?? 'unknown error';
  if (config.database.kind === 'sqlite') return new ConfigError('RUNHOOK_DATABASE_URL', message);
  return new ConfigError(
    'RUNHOOK_DATABASE_URL',
    `cannot reach PostgreSQL at ${redactDatabaseUrl(config.database.url)}: ${message}`,
  );
}

/** Opens the store and migrates it; a database that cannot be reached is a configuration error. */
export async function openMigratedStore(config: Config): Promise<Store> {
  const store = await openStore(config.database);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw databaseError(err, config);
  }
  return store;
}
