/**
 * What runs on a SQLite database thread (docs/architecture.md#the-store): better-sqlite3 on one
 * connection, answering single statements (an interactive transaction's) and groups of units
 * committed together. The Worker gets it as source text, so these functions refer to nothing
 * outside themselves: it runs the same from dist/ and from the TypeScript sources under the test
 * runner. Only types come from threadProtocol.ts (erased when compiled).
 */
import type {
  ErrorInfo,
  Statement,
  StatementResult,
  ThreadData,
  ThreadRequest,
  Unit,
  UnitResult,
} from './threadProtocol.js';

/** The program's source text, for `new Worker(text, { eval: true })`. */
export function threadProgramSource(): string {
  // `require` is the thread's own (an eval'd Worker runs as CommonJS), named only in this text: a
  // bundler rewrites a `require` it finds inside a function's body, which then names nothing there.
  return `(${threadMain.toString()})(require, ${createGroupRunner.toString()})`;
}

/**
 * The thread's main function: opens the connection and answers the main thread's messages. It is
 * handed to the Worker as source text (threadProgramSource), so it must not refer to anything
 * outside itself but its arguments, the thread's `require` and the group runner.
 */
function threadMain(
  // biome-ignore lint/suspicious/noExplicitAny: untyped on purpose, this runs as plain CommonJS.
  req: (id: string) => any,
  makeGroupRunner: typeof createGroupRunner,
): void {
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
  const runGroup = makeGroupRunner(db, prepare, journalIn, errorInfo);
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

/**
 * The thread's group commit, built by threadMain on its connection. Source text like threadMain:
 * nothing from outside itself.
 */
function createGroupRunner(
  // biome-ignore lint/suspicious/noExplicitAny: a better-sqlite3 Database, untyped here.
  db: any,
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 statements, untyped here.
  prepare: (text: string) => any,
  journalIn: (memory: boolean) => void,
  errorInfo: (err: unknown) => ErrorInfo,
): (units: Unit[]) => UnitResult[] {
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
  return (units: Unit[]): UnitResult[] => {
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
}
