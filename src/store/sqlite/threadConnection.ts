import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import type { ThreadSqliteDriver } from './threadDriver.js';
import { replyError, type StatementResult } from './threadProtocol.js';

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
export class ThreadConnection implements DatabaseConnection {
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
