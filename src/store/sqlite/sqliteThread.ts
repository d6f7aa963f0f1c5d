/**
 * better-sqlite3 on a thread of its own, behind a Kysely driver: the main thread's handle on one
 * database thread. The files of this dialect, one role each: threadProtocol.ts (the messages),
 * threadProgram.ts (what runs on the thread), this handle, threadConnection.ts and threadDriver.ts
 * (Kysely's connection and the group-commit driver), threadDialect.ts (the dialect).
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
import { Worker } from 'node:worker_threads';
import { threadProgramSource } from './threadProgram.js';
import {
  replyError,
  type ThreadData,
  type ThreadReply,
  type ThreadRequest,
  type Unit,
} from './threadProtocol.js';

/** The main thread's handle on a database thread. */
export class SqliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #failure: Error | null = null;
  #closed: Promise<void> | null = null;

  constructor(data: ThreadData) {
    this.#worker = new Worker(threadProgramSource(), { eval: true, workerData: data });
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
