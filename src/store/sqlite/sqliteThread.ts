/**
 * better-sqlite3 on a thread of its own, behind a Kysely driver.
 *
 * better-sqlite3 is synchronous: on the main thread every statement, and every fsync of a
 * `synchronous=FULL` commit, stops the event loop, so no HTTP answer is read and no request sent
 * meanwhile. Here the database lives on a worker thread; the main thread posts each compiled query
 * and awaits its rows. A query costs a message round trip (tens of microseconds) instead of
 * blocking, and SQLite's work runs on another core.
 *
 * There is one writing connection. Single queries and batches are queued as units and committed
 * together in groups (group commit: one message and one wait for the disk for many callers); an
 * interactive Kysely transaction holds the connection alone, as with Kysely's own SqliteDriver.
 * Single reads outside a transaction go to a second thread with a read-only connection, answered
 * from the last commit without waiting for a group (docs/architecture.md#the-store).
 * Writing transactions begin IMMEDIATE: they take the write lock up front, so two processes on one
 * file (an API and a `runhook worker`) wait on busy_timeout instead of failing a read-to-write
 * upgrade.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
} from 'kysely';

interface Statement {
  sql: string;
  params: readonly unknown[];
  /**
   * When set, the statement must return a row; if it returns none the unit fails with an error
   * carrying this code (and everything it wrote is rolled back to its savepoint).
   */
  requireRow?: string;
}

/** One caller's work in a group: its statements run all or nothing, between a savepoint and its release. */
interface Unit {
  statements: Statement[];
  durable: boolean;
  /**
   * Runhook's own batch (DialectHooks.runBatch / runUnit): a claim, a record, a finished run, whose
   * writes are bounded by a worker's slots or one run. Not a query Kysely sends alone, such as a
   * bulk recover, whose writes have no bound. See `journalInMemory` in threadMain.
   */
  bounded: boolean;
}

interface ErrorInfo {
  message: string;
  code?: string;
}

/** A statement's outcome: the rows it returned, or (for a write without RETURNING) what it changed. */
interface StatementResult {
  rows: Record<string, unknown>[];
  changes?: number;
  lastInsertRowid?: number | bigint;
}

type UnitResult = { results: StatementResult[] } | { error: ErrorInfo };

/** One statement of an interactive transaction; or a group of units, committed together. */
type ThreadRequest = ({ id: number } & Statement) | { id: number; units: Unit[] };

type ThreadReply =
  | { id: number; rows: Record<string, unknown>[] }
  | { id: number; changes: number; lastInsertRowid: number | bigint }
  | { id: number; units: UnitResult[] }
  | { id: number; error: ErrorInfo };

interface ThreadData {
  driverPath: string;
  path: string;
  pragmas: string[];
  /** The reader thread: a read-only connection that answers single reads at once, no group. */
  readonly?: boolean;
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
    db = new Database(data.path, data.readonly ? { readonly: true } : {});
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
  /**
   * Where the sub-journal of a unit's savepoint goes. Each unit of a group runs between a savepoint
   * and its release, and SQLite keeps the original of every page a unit changes in the savepoint's
   * sub-journal; past 64 KiB (a record batch of ~20 deliveries passes it) that spills to a temporary
   * file: a file created, written page by page and deleted, for nearly every unit. A group of
   * Runhook's own bounded units keeps it in memory (`temp_store = MEMORY`, read by SQLite when a
   * transaction begins): a drain's SQLite thread spent a fifth of its time there (commit
   * 95ef6aa). Anything else (a query Kysely sends alone, such as a bulk recover, or an interactive
   * transaction) may change any number of rows, and journals to a file, as SQLite does by default:
   * in memory, a bulk recover's sub-journal took about 0.8 KB per delivery. Changed only when it
   * must be, between transactions; a change that fails (inside a transaction left open) fails the
   * group, as its BEGIN would, and is tried again with the next.
   */
  let journalInMemory = false;
  const journalIn = (memory: boolean) => {
    if (memory === journalInMemory || data.readonly) return;
    db.pragma(memory ? 'temp_store = MEMORY' : 'temp_store = DEFAULT');
    journalInMemory = memory;
  };
  const errorInfo = (err: unknown): ErrorInfo => {
    const e = err as { message?: string; code?: string };
    return { message: String(e?.message ?? err), code: e?.code };
  };
  const runStatement = (q: Statement): StatementResult => {
    const stmt = prepare(q.sql);
    if (stmt.reader) {
      const rows = stmt.all(q.params);
      if (q.requireRow !== undefined && rows.length === 0) {
        throw Object.assign(new Error(`no row: ${q.requireRow}`), { code: q.requireRow });
      }
      return { rows };
    }
    const { changes, lastInsertRowid } = stmt.run(q.params);
    if (q.requireRow !== undefined && changes === 0) {
      throw Object.assign(new Error(`no row: ${q.requireRow}`), { code: q.requireRow });
    }
    return { rows: [], changes, lastInsertRowid };
  };
  /**
   * Group commit (docs/architecture.md#the-store): the units run one after another in a single
   * transaction, each between a savepoint and its release, and are committed together: one wait for
   * the disk however many units. A unit that fails is rolled back to its savepoint and reported
   * alone; the others are unaffected. Nothing is reported before the COMMIT has returned, so no
   * caller hears "done" before its writes are on disk. An error that ends the whole transaction
   * (SQLite rolls back by itself on e.g. a full disk) fails the units run so far, and the rest are
   * run again in a new transaction. A group of reads only takes no write lock.
   */
  const runGroup = (units: Unit[]): UnitResult[] => {
    const out: UnitResult[] = new Array(units.length);
    journalIn(units.every((u) => u.bounded));
    let readOnly = true;
    try {
      for (const unit of units)
        for (const q of unit.statements) if (!prepare(q.sql).readonly) readOnly = false;
    } catch {
      // A statement that does not compile fails its unit below; the group takes the write lock.
      readOnly = false;
    }
    // The safety level can only change outside a transaction, and only this thread uses the
    // connection, so it cannot leak into another transaction. A claim that joins a group with
    // durable work is committed durably too.
    const durable = units.some((u) => u.durable);
    if (!durable) db.pragma('synchronous = NORMAL');
    try {
      let first = 0;
      while (first < units.length) {
        try {
          prepare(readOnly ? 'begin' : 'begin immediate').run();
        } catch (err) {
          const error = errorInfo(err);
          for (let i = first; i < units.length; i++) out[i] = { error };
          return out;
        }
        let restartAt = units.length;
        for (let i = first; i < units.length; i++) {
          const unit = units[i] as Unit;
          prepare('savepoint unit').run();
          try {
            out[i] = { results: unit.statements.map(runStatement) };
            prepare('release unit').run();
          } catch (err) {
            out[i] = { error: errorInfo(err) };
            if (db.inTransaction) {
              prepare('rollback to unit').run();
              prepare('release unit').run();
            } else {
              // SQLite ended the transaction itself: the units before this one were lost with it.
              for (let j = first; j < i; j++) out[j] = { error: errorInfo(err) };
              restartAt = i + 1;
              break;
            }
          }
        }
        if (db.inTransaction) {
          try {
            prepare('commit').run();
          } catch (err) {
            if (db.inTransaction) prepare('rollback').run();
            const error = errorInfo(err);
            for (let j = first; j < restartAt; j++)
              if (!('error' in (out[j] as UnitResult))) out[j] = { error };
          }
        }
        first = restartAt;
      }
      return out;
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
      if ('units' in msg) {
        parentPort.postMessage({ id: msg.id, units: runGroup(msg.units) });
        return;
      }
      // Single statements are an interactive transaction's (or its BEGIN): of no known size.
      journalIn(false);
      const stmt = prepare(msg.sql);
      if (data.readonly && !(stmt.reader && stmt.readonly)) {
        parentPort.postMessage({ id: msg.id, error: { message: 'not a read', code: 'RUNHOOK_NOT_A_READ' } });
      } else if (stmt.reader) {
        parentPort.postMessage({ id: msg.id, rows: stmt.all(msg.params) });
      } else {
        const { changes, lastInsertRowid } = stmt.run(msg.params);
        parentPort.postMessage({ id: msg.id, changes, lastInsertRowid });
      }
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: errorInfo(err) });
    }
  });
}

/** The reader thread's answer to a statement that is not a pure read (the same text as in threadMain). */
const NOT_A_READ = 'RUNHOOK_NOT_A_READ';

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

  group(units: Unit[]): Promise<ThreadReply> {
    return this.#send((id) => ({ id, units }));
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

function toError(info: ErrorInfo): Error {
  return Object.assign(new Error(info.message), { code: info.code, name: 'SqliteError' });
}

function replyError(reply: ThreadReply): Error | null {
  return 'error' in reply ? toError(reply.error) : null;
}

function toQueryResult<R>(result: StatementResult): QueryResult<R> {
  if (result.changes === undefined) return { rows: result.rows as R[] };
  return {
    rows: [],
    numAffectedRows: BigInt(result.changes),
    insertId: BigInt(result.lastInsertRowid ?? 0),
  };
}

/**
 * What Kysely gets from acquireConnection. Outside a transaction each query is a unit of its own
 * and joins the next group; inside one (after beginTransaction) the connection is held
 * exclusively and every query goes straight to the thread.
 */
class ThreadConnection implements DatabaseConnection {
  exclusive = false;

  constructor(readonly driver: ThreadSqliteDriver) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.exclusive) {
      if (isRead(compiled)) {
        const rows = await this.driver.read(compiled.sql, compiled.parameters);
        if (rows) return { rows: rows as R[] };
      }
      const [result] = await this.driver.runUnit(
        [{ sql: compiled.sql, params: compiled.parameters }],
        true,
        false,
      );
      return toQueryResult(result as StatementResult);
    }
    const reply = await this.driver.thread.query(compiled.sql, compiled.parameters);
    const error = replyError(reply);
    if (error) throw error;
    if ('rows' in reply) return { rows: reply.rows as R[] };
    if (!('changes' in reply)) throw new Error('unexpected reply from the SQLite thread');
    return { rows: [], numAffectedRows: BigInt(reply.changes), insertId: BigInt(reply.lastInsertRowid) };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered; Runhook never streams.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite');
  }
}

/**
 * A query that may go to the reader thread: a SELECT, or raw SQL that starts like one. The reader
 * still checks (better-sqlite3's `readonly`) and hands anything else back.
 */
function isRead(compiled: CompiledQuery): boolean {
  const kind = compiled.query.kind;
  if (kind === 'SelectQueryNode') return true;
  return kind === 'RawNode' && /^\s*(select|with)\b/i.test(compiled.sql);
}

/** Units waiting for the next group, with whoever waits for each. */
interface QueuedUnit {
  unit: Unit;
  /** When it was queued (a counter): decides between the group and a waiting transaction. */
  order: number;
  resolve(results: StatementResult[]): void;
  reject(err: Error): void;
}

/** Units per group at most: bounds the wait of the first for the disk and the size of a message. */
const MAX_GROUP = 128;

/**
 * One connection, shared two ways (docs/architecture.md#the-store):
 * - Units (a single query outside a transaction, or a `runBatch`) are queued and sent to the thread
 *   together as a group, committed at once: one message and one wait for the disk for all of them.
 *   A group is sent whenever the connection is free; what arrives meanwhile waits for the next.
 * - An interactive Kysely transaction holds the connection alone, from BEGIN to COMMIT, as before.
 * They take turns in arrival order: a transaction queued before the oldest waiting unit goes first.
 */
export class ThreadSqliteDriver implements Driver {
  readonly thread: SqliteThread;
  /** Opens the reader thread; null where there is none (an in-memory database). */
  readonly #openReader: (() => SqliteThread) | null;
  #reader: SqliteThread | null = null;
  /** Set once the writer has answered (its connection is open and set up) or the reader failed. */
  #writerReady = false;
  #readerFailed = false;
  /** A group at the thread, or a transaction holding the connection. */
  #busy = false;
  #order = 0;
  #units: QueuedUnit[] = [];
  readonly #transactions: Array<{ order: number; start: () => void }> = [];
  #closed = false;

  constructor(thread: SqliteThread, openReader: (() => SqliteThread) | null = null) {
    this.thread = thread;
    this.#openReader = openReader;
  }

  /**
   * A single read outside any transaction, answered by the reader thread's own read-only
   * connection at once, from the last committed state, without waiting for a group and its COMMIT
   * (docs/architecture.md#the-store). Null when the reader cannot take it (no reader, not open
   * yet, failed, or not a pure read): the caller runs it as a unit instead.
   */
  async read(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[] | null> {
    if (!this.#openReader || !this.#writerReady || this.#readerFailed || this.#closed) return null;
    this.#reader ??= this.#openReader();
    let reply: ThreadReply;
    try {
      reply = await this.#reader.query(sql, params);
    } catch {
      // The reader thread failed (could not open the file, or died): reads go through the writer.
      this.#readerFailed = true;
      return null;
    }
    if ('error' in reply) {
      if (reply.error.code === NOT_A_READ) return null;
      throw toError(reply.error);
    }
    if (!('rows' in reply)) throw new Error('unexpected reply from the SQLite reader thread');
    return reply.rows;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ThreadConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#closed) throw new Error('the SQLite store is closed');
    const conn = connection as ThreadConnection;
    if (this.#busy) {
      await new Promise<void>((start) => this.#transactions.push({ order: this.#order++, start }));
    }
    this.#busy = true;
    conn.exclusive = true;
    try {
      await this.#direct('begin immediate');
    } catch (err) {
      this.#endTransaction(conn);
      throw err;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#direct('commit');
    this.#endTransaction(connection as ThreadConnection);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#direct('rollback');
    } finally {
      this.#endTransaction(connection as ThreadConnection);
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A transaction whose COMMIT or ROLLBACK failed still holds the connection: give it back.
    const conn = connection as ThreadConnection;
    if (conn.exclusive) {
      await this.thread.query('rollback', []).catch(() => {});
      this.#endTransaction(conn);
    }
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    const error = new Error('the SQLite store is closed');
    for (const q of this.#units.splice(0)) q.reject(error);
    // Messages already posted are answered before the thread reads `close`.
    await Promise.all([this.thread.close(), this.#reader?.close()]);
  }

  async #direct(sql: string): Promise<void> {
    const error = replyError(await this.thread.query(sql, []));
    if (error) throw error;
  }

  #endTransaction(conn: ThreadConnection): void {
    if (!conn.exclusive) return;
    conn.exclusive = false;
    this.#busy = false;
    this.#next();
  }

  /** Runs `statements` as one unit of the next group; resolves once that group has committed. */
  runUnit(statements: Statement[], durable: boolean, bounded: boolean): Promise<StatementResult[]> {
    if (this.#closed) return Promise.reject(new Error('the SQLite store is closed'));
    return new Promise((resolve, reject) => {
      this.#units.push({ unit: { statements, durable, bounded }, order: this.#order++, resolve, reject });
      if (!this.#busy) this.#next();
    });
  }

  /** Hands the free connection to the transaction or the group whose turn it is. */
  #next(): void {
    if (this.#busy) return;
    const tx = this.#transactions[0];
    const oldest = this.#units[0];
    if (tx && (!oldest || tx.order < oldest.order)) {
      this.#transactions.shift();
      this.#busy = true;
      tx.start();
      return;
    }
    if (!oldest) return;
    let group: QueuedUnit[];
    const quick = this.#units.filter((q) => !q.unit.durable);
    if (quick.length > 0 && quick.length < this.#units.length) {
      // Claims (durable: false) go first, in a group of their own that does not wait for the disk:
      // a worker's next sends wait for one short group, not for a group of durable writes and its
      // fsync. Reordering queued units is safe: none of them has been answered, so any order is
      // one their callers could have seen.
      group = quick.slice(0, MAX_GROUP);
      const taken = new Set(group);
      this.#units = this.#units.filter((q) => !taken.has(q));
    } else {
      group = this.#units.length <= MAX_GROUP ? this.#units : this.#units.slice(0, MAX_GROUP);
      this.#units = this.#units.length <= MAX_GROUP ? [] : this.#units.slice(MAX_GROUP);
    }
    this.#busy = true;
    void this.#sendGroup(group);
  }

  async #sendGroup(group: QueuedUnit[]): Promise<void> {
    try {
      const reply = await this.thread.group(group.map((q) => q.unit));
      const error = replyError(reply);
      if (error || !('units' in reply)) throw error ?? new Error('unexpected reply from the SQLite thread');
      if (!this.#writerReady) {
        this.#writerReady = true;
        // Started now, so the first read does not wait for a thread to start.
        if (this.#openReader && !this.#closed) this.#reader ??= this.#openReader();
      }
      reply.units.forEach((result, i) => {
        const q = group[i] as QueuedUnit;
        if ('error' in result) q.reject(toError(result.error));
        else q.resolve(result.results);
      });
    } catch (err) {
      for (const q of group) q.reject(err as Error);
    } finally {
      this.#busy = false;
      this.#next();
    }
  }

  /**
   * Runs `statements` as one unit (all or nothing) of the next group commit: one message to the
   * thread for the whole group however many statements, where a Kysely transaction costs one per
   * statement plus begin and commit, and one wait for the disk for every unit in the group.
   * Resolves only after the group has committed. Runhook's own batches only: their writes are
   * bounded (Unit.bounded).
   */
  async runBatch(
    statements: readonly CompiledQuery[],
    durable: boolean,
  ): Promise<Array<{ rows: Record<string, unknown>[] }>> {
    return this.runUnit(
      statements.map((q) => ({ sql: q.sql, params: q.parameters })),
      durable,
      true,
    );
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
