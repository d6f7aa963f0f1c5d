import type { CompiledQuery, DatabaseConnection, Driver } from 'kysely';
import type { SqliteThread } from './sqliteThread.js';
import { ThreadConnection } from './threadConnection.js';
import {
  NOT_A_READ,
  replyError,
  type Statement,
  type StatementResult,
  type ThreadReply,
  toError,
  type Unit,
} from './threadProtocol.js';

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
