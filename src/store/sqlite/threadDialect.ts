import { createRequire } from 'node:module';
import { type Driver, SqliteDialect } from 'kysely';
import { SqliteThread } from './sqliteThread.js';
import { ThreadSqliteDriver } from './threadDriver.js';

/** Kysely's SQLite dialect (compiler, adapter, introspector) over the threaded driver. */
export class ThreadSqliteDialect extends SqliteDialect {
  /** The driver Kysely uses; openSqliteStore runs batches through it. */
  readonly driver: ThreadSqliteDriver;

  constructor(path: string, pragmas: string[]) {
    // The base class wants a database for its own driver, which is never created.
    super({ database: async () => Promise.reject(new Error('unused')) });
    const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
    // An in-memory database is private to its connection: no reader there.
    const inMemory = path === '' || path === ':memory:' || path.startsWith('file::memory:');
    const busy = pragmas.filter((p) => /^\s*busy_timeout\b/i.test(p));
    this.driver = new ThreadSqliteDriver(
      new SqliteThread({ driverPath, path, pragmas }),
      inMemory ? null : () => new SqliteThread({ driverPath, path, pragmas: busy, readonly: true }),
    );
  }

  override createDriver(): Driver {
    return this.driver;
  }
}
