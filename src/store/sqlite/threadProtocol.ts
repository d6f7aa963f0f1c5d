/**
 * The messages between the main thread and a SQLite database thread (threadProgram.ts): one
 * statement of an interactive transaction, or a group of units committed together, and their
 * answers. Everything here crosses the thread boundary as a structured clone.
 */
export interface Statement {
  sql: string;
  params: readonly unknown[];
  /**
   * When set, the statement must return a row; if it returns none the unit fails with an error
   * carrying this code (and everything it wrote is rolled back to its savepoint).
   */
  requireRow?: string;
}

/** One caller's work in a group: its statements run all or nothing, between a savepoint and its release. */
export interface Unit {
  statements: Statement[];
  durable: boolean;
  /**
   * Runhook's own batch (DialectHooks.runBatch / runUnit): a claim, a record, a finished run, whose
   * writes are bounded by a worker's slots or one run. Not a query Kysely sends alone, such as a
   * bulk recover, whose writes have no bound. See `journalIn` in threadProgram.ts.
   */
  bounded: boolean;
}

export interface ErrorInfo {
  message: string;
  code?: string;
}

/** A statement's outcome: the rows it returned, or (for a write without RETURNING) what it changed. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  changes?: number;
  lastInsertRowid?: number | bigint;
}

export type UnitResult = { results: StatementResult[] } | { error: ErrorInfo };

/** One statement of an interactive transaction; or a group of units, committed together. */
export type ThreadRequest = ({ id: number } & Statement) | { id: number; units: Unit[] };

export type ThreadReply =
  | { id: number; rows: Record<string, unknown>[] }
  | { id: number; changes: number; lastInsertRowid: number | bigint }
  | { id: number; units: UnitResult[] }
  | { id: number; error: ErrorInfo };

export interface ThreadData {
  driverPath: string;
  path: string;
  pragmas: string[];
  /** The reader thread: a read-only connection that answers single reads at once, no group. */
  readonly?: boolean;
}

/** The reader thread's answer to a statement that is not a pure read (the same text in threadProgram.ts). */
export const NOT_A_READ = 'RUNHOOK_NOT_A_READ';

export function toError(info: ErrorInfo): Error {
  return Object.assign(new Error(info.message), { code: info.code, name: 'SqliteError' });
}

export function replyError(reply: ThreadReply): Error | null {
  return 'error' in reply ? toError(reply.error) : null;
}
