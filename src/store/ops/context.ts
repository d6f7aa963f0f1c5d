import { type CompiledQuery, type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import type { HandoffTaker, Paged } from '../store.js';

/** What differs between the two databases; everything else is shared Kysely code. */
export interface DialectHooks {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `statements` in order in one transaction and returns each one's rows: the hot path's
   * writes, in as few round trips as the database allows (SQLite: one message to its thread;
   * PostgreSQL: one pooled connection, no Kysely per-statement overhead).
   *
   * `durable: false` lets the commit skip the wait for the disk. Claims use it: a lease lost to an
   * OS crash or power cut only means the delivery is claimed and sent again (at-least-once), and
   * leases never outlive the workers that hold them anyway. Attempts and events stay durable.
   * `locks` (PostgreSQL; SQLite's IMMEDIATE transactions already serialise all writers): transaction
   * advisory locks on these keys (`w:<webhook id>`, `o:<organization id>`), tried before the
   * statements, not waited for (a hand-off; docs/architecture.md#claims). The statements
   * see the keys this batch got as `current_setting('runhook.locked')`, a JSON array, and whether
   * it got all of them as `current_setting('runhook.claim_lock') = 'true'` (see leaseHandedOff).
   * Each statement after the locks reads a snapshot taken after they were granted, so it sees every
   * lease committed by the batch that held them before. `waitForLocksMs`: wait for each lock
   * instead, in one order of keys, up to that long (a claim; past it the batch fails with
   * PostgreSQL's lock_not_available, 55P03).
   */
  runBatch(
    statements: readonly CompiledQuery[],
    options: { durable: boolean; locks?: readonly string[]; waitForLocksMs?: number },
  ): Promise<Array<{ rows: Record<string, unknown>[] }>>;
  /**
   * SQLite only: runs `statements` as one all-or-nothing unit of the next group commit
   * (docs/architecture.md#the-store), durably. A statement with `requireRow` that returns (or
   * changes) no row fails the unit, rolled back, with an error whose `code` is `requireRow`.
   */
  runUnit?(statements: readonly GuardedStatement[]): Promise<Array<{ rows: Record<string, unknown>[] }>>;
  /**
   * PostgreSQL: Kysely over the delivery worker's own small pool, which runBatch uses too, so that
   * claims, lease renewals and result writes never queue for a connection behind API requests
   * (docs/architecture.md#the-store). Undefined: the worker uses `db`.
   */
  readonly workerDb?: Kysely<Database>;
  /**
   * PostgreSQL: a session advisory lock per worker, held on a connection of its own for as long as
   * the worker runs (docs/delivery.md#leases-and-at-least-once). A lease whose owner holds no such
   * lock belongs to a worker that is gone, and is lost without waiting for it to run out.
   * `hold` resolves once the lock is held; `release` lets it go (the worker stopped).
   */
  readonly workerLocks?: {
    hold(workerId: string): Promise<void>;
    release(workerId: string): Promise<void>;
    close(): Promise<void>;
  };
  /** `FOR UPDATE SKIP LOCKED` where the database has it. */
  readonly skipLocked: boolean;
  /**
   * Tells every worker (in this process and others) that work may be due; call it after the commit.
   * `local: false` tells only other processes (a no-op on SQLite, which tells only its own).
   */
  notifyNewWork(options?: { local: boolean }): Promise<void>;
  onNewWork(listener: () => void): () => void;
  /**
   * Tells the live tail's streams, in this process and others, that attempts were recorded, the
   * smallest id among them being `fromId`; call it after the commit. Never fails the caller.
   */
  notifyAttempts(fromId: string): void;
  onAttempts(listener: (fromId: string) => void): () => void;
  close(): Promise<void>;
}

export interface GuardedStatement {
  query: CompiledQuery;
  requireRow?: string;
}

export interface Ctx {
  db: Kysely<Database>;
  hooks: DialectHooks;
  /** The worker in this process that takes new deliveries at commit (Store.takeHandoffs), if any. */
  handoff?: { taker: HandoffTaker | null };
}

export type Db = Kysely<Database> | Transaction<Database>;

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** `count(*) AS n`: the total that goes beside a page of rows. */
export const countAll = sql<number>`count(*)`.as('n');

/** Reads one page of rows and the number of rows its filter matches, together. */
export async function readPage<Row, T>(
  rows: { execute(): Promise<Row[]> },
  total: { executeTakeFirstOrThrow(): Promise<{ n: number | string }> },
  toItem: (row: Row) => T,
): Promise<Paged<T>> {
  const [list, count] = await Promise.all([rows.execute(), total.executeTakeFirstOrThrow()]);
  return { items: list.map(toItem), total: Number(count.n) };
}

/**
 * SQLite's planner has no statistics (Runhook never runs ANALYZE there) and guesses that
 * `status = 'pending'` is selective on any index that starts with `status`, e.g.
 * `deliveries_finished`: it then reads every pending delivery and sorts them, on every claim, which
 * grows with the backlog. Queries whose plan must not depend on that guess name their index
 * (docs/architecture.md). PostgreSQL has no hints and needs none here: it picks the partial
 * indexes of these queries even on a table never analyzed.
 */
export function indexedBy(hooks: DialectHooks, index: string) {
  return hooks.dialect === 'sqlite' ? sql.raw(`INDEXED BY ${index}`) : sql``;
}
