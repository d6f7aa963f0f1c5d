import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.js';

/** What differs between the two databases; everything else is shared Kysely code. */
export interface DialectHooks {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs one claim in a transaction serialised with every other claim (across processes too), so
   * the per-webhook cap holds. Its commit need not be durable: a lease lost to an OS crash or
   * power cut only means the delivery is claimed and sent again (at-least-once), and leases never
   * outlive the workers that hold them anyway. Skipping the flush makes a claim cost a fraction
   * of a millisecond instead of an fsync.
   */
  claimTransaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** `FOR UPDATE SKIP LOCKED` where the database has it. */
  readonly skipLocked: boolean;
  /** Tells every worker (in this process and others) that work may be due. */
  notifyNewWork(): Promise<void>;
  onNewWork(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface Ctx {
  db: Kysely<Database>;
  hooks: DialectHooks;
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

export async function countOf(query: {
  executeTakeFirstOrThrow(): Promise<{ n: number | string }>;
}): Promise<number> {
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}
