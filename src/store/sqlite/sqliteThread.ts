/**
 * better-sqlite3 on a thread of its own, behind a Kysely driver.
 *
 * better-sqlite3 is synchronous: on the main thread every statement, and every fsync of a
 * `synchronous=FULL` commit, stops the event loop, so no HTTP answer is read and no request sent
 * meanwhile. Here the database lives on a worker thread; the main thread posts each compiled query
 * and awaits its rows. A query costs a message round trip (tens of microseconds) instead of
 * blocking, and SQLite's work runs on another core.
 *
 * There is still one connection: a mutex hands it to one Kysely transaction (or query) at a time,
 * as Kysely's own SqliteDriver does. Transactions begin IMMEDIATE: they take the write lock up
 * front, so two processes on one file (an API and a `runhook worker`) wait on busy_timeout instead
 * of failing a read-to-write upgrade.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect } from 'kysely';

interface Statement {
  sql: string;
  params: readonly unknown[];
}

/** One query; or a whole transaction (`batch`), run by the thread in one go. */
type ThreadRequest = ({ id: number } & Statement) | { id: number; batch: Statement[]; durable: boolean };

type ThreadReply =
  | { id: number; rows: Record<string, unknown>[] }
  | { id: number; changes: number; lastInsertRowid: number | bigint }
  | { id: number; results: Array<{ rows: Record<string, unknown>[] }> }
  | { id: number; error: { message: string; code?: string } };

interface ThreadData {
  driverPath: string;
  path: string;
  pragmas: string[];
}

/**
 * The thread's whole program. It is handed to the Worker as source text (`eval`), so it must not
 * refer to anything outside itself; that way it runs the same from dist/ and from the TypeScript
 * sources under the test runner.
 */
function threadMain(): void {
  // biome-ignore lint/suspicious/noExplicitAny: untyped on purpose, this runs as plain CommonJS.
  const req: (id: string) => any = require;
  const { parentPort, workerData } = req('node:worker_threads');
  const data = workerData as ThreadData;
  const Database = req(data.driverPath);
  // biome-ignore lint/suspicious/noExplicitAny: a better-sqlite3 Database, untyped here.
  let db: any;
  try {
    db = new Database(data.path);
    for (const pragma of data.pragmas) db.pragma(pragma);
  } catch (err) {
    // Reported as message 0; every query then fails with it. The thread ends (nothing listens).
    const e = err as { message?: string; code?: string };
    parentPort.postMessage({
      id: 0,
      error: { message: `cannot open SQLite database ${data.path}: ${e?.message ?? err}`, code: e?.code },
    });
    return;
  }
  // Kysely prepares every query it runs; caching statements by SQL text saves that work.
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 statements, untyped here.
  const statements = new Map<string, any>();
  const prepare = (text: string) => {
    let stmt = statements.get(text);
    if (!stmt) {
      stmt = db.prepare(text);
      if (statements.size > 500) statements.clear();
      statements.set(text, stmt);
    }
    return stmt;
  };
  /** A whole transaction; `durable: false` commits without waiting for the disk. */
  const runBatch = (batch: Statement[], durable: boolean) => {
    // The safety level can only change outside a transaction, and only this thread uses the
    // connection, so it cannot leak into another transaction.
    if (!durable) db.pragma('synchronous = NORMAL');
    try {
      db.prepare('begin immediate').run();
      try {
        const results = batch.map((q) => {
          const stmt = prepare(q.sql);
          if (stmt.reader) return { rows: stmt.all(q.params) };
          stmt.run(q.params);
          return { rows: [] };
        });
        db.prepare('commit').run();
        return results;
      } catch (err) {
        if (db.inTransaction) db.prepare('rollback').run();
        throw err;
      }
    } finally {
      if (!durable) db.pragma('synchronous = FULL');
    }
  };
  parentPort.on('message', (msg: ThreadRequest | 'close') => {
    if (msg === 'close') {
      db.close();
      parentPort.close();
      return;
    }
    try {
      if ('batch' in msg) {
        parentPort.postMessage({ id: msg.id, results: runBatch(msg.batch, msg.durable) });
        return;
      }
      const stmt = prepare(msg.sql);
      if (stmt.reader) {
        parentPort.postMessage({ id: msg.id, rows: stmt.all(msg.params) });
      } else {
        const { changes, lastInsertRowid } = stmt.run(msg.params);
        parentPort.postMessage({ id: msg.id, changes, lastInsertRowid });
      }
    } catch (err) {
      const e = err as { message?: string; code?: string };
      parentPort.postMessage({ id: msg.id, error: { message: String(e?.message ?? err), code: e?.code } });
    }
  });
}

/** The main thread's handle on the database thread. */
class SqliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #failure: Error | null = null;
  #closed: Promise<void> | null = null;

  constructor(data: ThreadData) {
    this.#worker = new Worker(`(${threadMain.toString()})()`, { eval: true, workerData: data });
    // The thread keeps the process alive only while a query waits for it, like a socket would.
    this.#worker.unref();
    this.#worker.on('message', (reply: ThreadReply) => {
      if (reply.id === 0) {
        this.#fail(replyError(reply) ?? new Error('the SQLite thread failed'));
        return;
      }
      const waiter = this.#pending.get(reply.id);
      if (!waiter) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      waiter.resolve(reply);
    });
    this.#worker.on('error', (err) =>
      // An error thrown on the thread arrives as a structured clone, not always an Error.
      this.#fail(err instanceof Error ? err : new Error(`the SQLite thread failed: ${JSON.stringify(err)}`)),
    );
    this.#worker.on('exit', (code) => this.#fail(new Error(`the SQLite thread exited (code ${code})`)));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#pending.values()) waiter.reject(this.#failure);
    this.#pending.clear();
  }

  query(sql: string, params: readonly unknown[]): Promise<ThreadReply> {
    return this.#send((id) => ({ id, sql, params }));
  }

  batch(batch: Statement[], durable: boolean): Promise<ThreadReply> {
    return this.#send((id) => ({ id, batch, durable }));
  }

  #send(request: (id: number) => ThreadRequest): Promise<ThreadReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request(id));
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#failure) {
        void this.#worker.terminate().then(() => resolve());
        return;
      }
      this.#worker.ref();
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage('close');
    });
    return this.#closed;
  }
}

function replyError(reply: ThreadReply): Error | null {
  return 'error' in reply
    ? Object.assign(new Error(reply.error.message), { code: reply.error.code, name: 'SqliteError' })
    : null;
}

class ThreadConnection implements DatabaseConnection {
  constructor(readonly thread: SqliteThread) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.thread.query(compiled.sql, compiled.parameters);
    const error = replyError(reply);
    if (error) throw error;
    if ('rows' in reply) return { rows: reply.rows as R[] };
    if (!('changes' in reply)) throw new Error('unexpected reply from the SQLite thread');
    return {
      rows: [],
      numAffectedRows: BigInt(reply.changes),
      insertId: BigInt(reply.lastInsertRowid),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered; Runhook never streams.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite');
  }
}

/** One connection, handed out by a FIFO mutex. */
export class ThreadSqliteDriver implements Driver {
  readonly #connection: ThreadConnection;
  #locked = false;
  readonly #waiting: Array<() => void> = [];

  constructor(thread: SqliteThread) {
    this.#connection = new ThreadConnection(thread);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#locked) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#locked = true;
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const next = this.#waiting.shift();
    // Handed straight to the next waiter: nobody can slip in between.
    if (next) next();
    else this.#locked = false;
  }

  async destroy(): Promise<void> {
    await this.#connection.thread.close();
  }

  /**
   * Runs `statements` as one IMMEDIATE transaction in a single message to the thread: one round
   * trip however many statements, where a Kysely transaction costs one per statement plus begin
   * and commit. Waits its turn for the connection like any transaction.
   */
  async runBatch(
    statements: readonly CompiledQuery[],
    durable: boolean,
  ): Promise<Array<{ rows: Record<string, unknown>[] }>> {
    await this.acquireConnection();
    try {
      const reply = await this.#connection.thread.batch(
        statements.map((q) => ({ sql: q.sql, params: q.parameters })),
        durable,
      );
      const error = replyError(reply);
      if (error) throw error;
      if (!('results' in reply)) throw new Error('unexpected reply from the SQLite thread');
      return reply.results;
    } finally {
      await this.releaseConnection();
    }
  }
}

/** Kysely's SQLite dialect (compiler, adapter, introspector) over the threaded driver. */
export class ThreadSqliteDialect extends SqliteDialect {
  /** The driver Kysely uses; openSqliteStore runs batches through it. */
  readonly driver: ThreadSqliteDriver;

  constructor(path: string, pragmas: string[]) {
    // The base class wants a database for its own driver, which is never created.
    super({ database: async () => Promise.reject(new Error('unused')) });
    const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.driver = new ThreadSqliteDriver(new SqliteThread({ driverPath, path, pragmas }));
  }

  override createDriver(): Driver {
    return this.driver;
  }
}
