/**
 * Group commit on SQLite (docs/architecture.md#the-store), on real database files: units queued
 * together commit together, a failing unit is rolled back alone, nobody is answered before the
 * COMMIT, and interactive transactions keep the connection to themselves.
 *
 * Needs dist/ for the crash test's child process: ensureBuilt() rebuilds it when its sources changed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ThreadSqliteDialect } from '../../src/store/sqlite/threadDialect.js';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000'];

interface Open {
  path: string;
  dialect: ThreadSqliteDialect;
  // biome-ignore lint/suspicious/noExplicitAny: a scratch schema, untyped.
  db: Kysely<any>;
}

const dirs: string[] = [];
const opened: Open[] = [];

async function open(): Promise<Open> {
  const dir = mkdtempSync(join(tmpdir(), 'runhook-group-'));
  dirs.push(dir);
  const path = join(dir, 'g.db');
  const dialect = new ThreadSqliteDialect(path, PRAGMAS);
  // biome-ignore lint/suspicious/noExplicitAny: a scratch schema, untyped.
  const db = new Kysely<any>({ dialect });
  await sql`CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL UNIQUE, tag TEXT)`.execute(db);
  const o = { path, dialect, db };
  opened.push(o);
  return o;
}

/**
 * An interactive transaction that holds the writer (after `first`) until release(); it then
 * rolls back. Resolves once the transaction is inside.
 */
async function holdWriter(
  db: Open['db'],
  first: (trx: Open['db']) => Promise<void> = async () => {},
): Promise<{ release: () => void; tx: Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let inside!: () => void;
  const started = new Promise<void>((r) => {
    inside = r;
  });
  const tx = db.transaction().execute(async (trx) => {
    await first(trx);
    inside();
    await held;
    throw new Error('roll back');
  });
  await started;
  return { release, tx };
}

const q = (text: string, ...params: unknown[]) => CompiledQuery.raw(text, params);

afterEach(async () => {
  for (const o of opened.splice(0)) await o.db.destroy().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rowsOf(path: string): Array<{ n: number; tag: string | null }> {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.prepare('SELECT n, tag FROM t ORDER BY n').all() as Array<{ n: number; tag: string | null }>;
  } finally {
    raw.close();
  }
}

describe('SQLite group commit', () => {
  it('concurrent units commit; one that fails after writing is rolled back alone', async () => {
    const { db, dialect, path } = await open();
    const units = Array.from({ length: 40 }, (_, i) =>
      i === 17
        ? // Writes a row, then breaks the unique constraint: both must be gone.
          dialect.driver.runBatch(
            [
              q('INSERT INTO t (n, tag) VALUES (?, ?)', 1000, 'partial'),
              q('INSERT INTO t (n) VALUES (?)', 3),
            ],
            true,
          )
        : dialect.driver.runBatch([q('INSERT INTO t (n, tag) VALUES (?, ?)', i, `u${i}`)], i % 2 === 0),
    );
    const outcomes = await Promise.allSettled(units);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    const failed = outcomes[17] as PromiseRejectedResult;
    expect(String(failed.reason.code)).toMatch(/SQLITE_CONSTRAINT/);
    await db.destroy();
    const rows = rowsOf(path);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 17));
    expect(rows.some((r) => r.tag === 'partial')).toBe(false);
  });

  it('a unit whose required row is missing fails with its code and leaves nothing behind', async () => {
    const { db, dialect } = await open();
    const a = dialect.driver.runUnit(
      [
        { sql: 'INSERT INTO t (n, tag) VALUES (1, ?)', params: ['first'] },
        { sql: 'UPDATE t SET tag = ? WHERE n = 999', params: ['x'], requireRow: 'GONE' },
      ],
      true,
      true,
    );
    const b = dialect.driver.runUnit(
      [{ sql: 'INSERT INTO t (n) VALUES (2) RETURNING n', params: [] }],
      true,
      true,
    );
    await expect(a).rejects.toMatchObject({ code: 'GONE' });
    await expect(b).resolves.toEqual([{ rows: [{ n: 2 }] }]);
    const left = await sql<{ n: number }>`SELECT n FROM t`.execute(db);
    expect(left.rows).toEqual([{ n: 2 }]);
  });

  it('a unit that changed more than its sub-journal holds in 64 KiB is rolled back alone, in memory or on file', async () => {
    const { db, dialect, path } = await open();
    // 400 rows of 1 KB: their pages are journaled past SQLite's spill threshold.
    await dialect.driver.runBatch(
      [
        q(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400)
           INSERT INTO t (n, tag) SELECT i, printf('%.1000c', 'a') FROM s`),
      ],
      true,
    );
    const rewrite = (n: number) => [
      { sql: "UPDATE t SET tag = printf('%.1000c', 'b')", params: [] },
      // Breaks the unique constraint after the rewrite: all of it must be undone.
      { sql: 'UPDATE t SET n = 1 WHERE n = ?', params: [n] },
    ];
    const queued = [
      dialect.driver.runBatch([q('INSERT INTO t (n) VALUES (1001)')], true),
      dialect.driver.runUnit(rewrite(2), true, true),
      dialect.driver.runBatch([q('INSERT INTO t (n) VALUES (1002)')], true),
      dialect.driver.runUnit(rewrite(3), true, false),
      dialect.driver.runBatch([q('INSERT INTO t (n) VALUES (1003)')], true),
    ];
    const outcomes = await Promise.allSettled(queued);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    await db.destroy();
    const rows = rowsOf(path);
    expect(rows).toHaveLength(403);
    expect(rows.filter((r) => r.tag?.startsWith('b'))).toEqual([]);
    expect(rows.slice(-3).map((r) => r.n)).toEqual([1001, 1002, 1003]);
  });

  it("Runhook's own batches journal in memory; queries of unknown size and interactive transactions on file", async () => {
    const { db, dialect } = await open();
    // A pragma that reads a setting returns its value when the statement was prepared, and the
    // thread keeps statements by text: every read below has a text of its own. 2 is MEMORY, 0 is
    // DEFAULT (a file, as this SQLite is built).
    let reads = 0;
    const read = () => `PRAGMA temp_store /* ${++reads} */`;
    const tempStore = async (run: Promise<Array<{ rows: Record<string, unknown>[] }>>) =>
      (await run)[0]?.rows[0]?.temp_store;
    const batch = () => tempStore(dialect.driver.runBatch([q(read())], true));
    const unit = (bounded: boolean) =>
      tempStore(dialect.driver.runUnit([{ sql: read(), params: [] }], true, bounded));
    expect(await batch()).toBe(2);
    expect(await unit(false)).toBe(0);
    expect(await unit(true)).toBe(2);
    // A query Kysely sends alone (such as a bulk recover) is a unit of unknown size.
    expect((await sql<{ temp_store: number }>`${sql.raw(read())}`.execute(db)).rows[0]?.temp_store).toBe(0);
    expect(await batch()).toBe(2);
    const inTransaction = await db
      .transaction()
      .execute(
        async (trx) =>
          (await sql<{ temp_store: number }>`${sql.raw(read())}`.execute(trx)).rows[0]?.temp_store,
      );
    expect(inTransaction).toBe(0);
    // A group with one unit of unknown size journals on file as a whole.
    const { release, tx } = await holdWriter(db);
    const mixed = [batch(), unit(false)];
    release();
    await tx.catch(() => {});
    expect(await Promise.all(mixed)).toEqual([0, 0]);
    expect(await batch()).toBe(2);
  });

  it('units run in the order they were queued, each seeing the ones before it', async () => {
    const { dialect } = await open();
    const next = () =>
      dialect.driver.runBatch(
        [q('INSERT INTO t (n) SELECT coalesce(max(n), 0) + 1 FROM t RETURNING n')],
        true,
      );
    const results = await Promise.all(Array.from({ length: 100 }, next));
    expect(results.map((r) => r[0]?.rows[0]?.n)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('an interactive transaction holds the connection alone: queued units wait, and see nothing it rolled back; a single read is answered at once by the reader, from what is committed', async () => {
    const { db, dialect } = await open();
    const { release, tx } = await holdWriter(db, async (trx) => {
      await sql`INSERT INTO t (n, tag) VALUES (1, 'rolled back')`.execute(trx);
    });
    const order: string[] = [];
    const unit = dialect.driver.runBatch([q('SELECT count(*) AS c FROM t')], true).then((r) => {
      order.push('unit');
      return r[0]?.rows[0]?.c;
    });
    const single = sql<{ c: number }>`SELECT count(*) AS c FROM t`.execute(db).then((r) => {
      order.push('single');
      return r.rows[0]?.c;
    });
    // The read does not wait for the transaction (it would never end: release() comes after).
    const first = await Promise.race([single, new Promise((r) => setTimeout(() => r('waited'), 5_000))]);
    expect(first).toBe(0);
    expect(order).toEqual(['single']);
    release();
    expect(await tx.catch((err: Error) => err.message)).toBe('roll back');
    expect(await unit).toBe(0);
  });

  it('claims (durable: false) queued behind durable units go first, in a group of their own', async () => {
    const { db, dialect } = await open();
    // Hold the connection with a transaction, so that everything below waits in the queue.
    const { release, tx } = await holdWriter(db);
    const order: string[] = [];
    const writes = Array.from({ length: 5 }, (_, i) =>
      dialect.driver
        .runBatch([q('INSERT INTO t (n) VALUES (?)', i + 1)], true)
        .then(() => order.push(`write ${i}`)),
    );
    const claim = dialect.driver.runBatch([q('SELECT count(*) AS c FROM t')], false).then((r) => {
      order.push('claim');
      return r[0]?.rows[0]?.c;
    });
    release();
    await tx.catch(() => {});
    // It ran before the writes queued ahead of it, and was answered before them.
    expect(await claim).toBe(0);
    await Promise.all(writes);
    expect(order).toEqual(['claim', 'write 0', 'write 1', 'write 2', 'write 3', 'write 4']);
  });

  it('the reader answers reads only: a WITH … INSERT handed to it runs as a unit on the writer', async () => {
    const { db } = await open();
    await sql`INSERT INTO t (n, tag) VALUES (1, 'a')`.execute(db);
    await sql`WITH x(v) AS (SELECT 2) INSERT INTO t (n, tag) SELECT v, 'b' FROM x`.execute(db);
    const rows = await sql<{ n: number }>`WITH y AS (SELECT n FROM t) SELECT n FROM y ORDER BY n`.execute(db);
    expect(rows.rows.map((r) => r.n)).toEqual([1, 2]);
    await expect(sql`SELECT nope FROM t`.execute(db)).rejects.toThrow(/no such column/);
  });

  it('a read right after an acknowledged write sees it; one during a group sees none of it', async () => {
    const { db, dialect } = await open();
    await sql`INSERT INTO t (n) VALUES (0)`.execute(db);
    for (let i = 1; i <= 50; i++) {
      // Queued into the next group, with a read sent meanwhile: the read never sees half a group.
      const write = dialect.driver.runBatch(
        [q('INSERT INTO t (n) VALUES (?)', 2 * i), q('INSERT INTO t (n) VALUES (?)', 2 * i + 1)],
        true,
      );
      const during = sql<{ c: number }>`SELECT count(*) AS c FROM t`.execute(db);
      await write;
      const after = await sql<{ c: number }>`SELECT count(*) AS c FROM t`.execute(db);
      expect([2 * i - 1, 2 * i + 1]).toContain((await during).rows[0]?.c);
      expect(after.rows[0]?.c).toBe(2 * i + 1);
    }
  });

  it('an in-memory database has no reader: every query sees the one connection', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: a scratch schema, untyped.
    const db = new Kysely<any>({ dialect: new ThreadSqliteDialect(':memory:', []) });
    try {
      await sql`CREATE TABLE m (v INTEGER)`.execute(db);
      await sql`INSERT INTO m VALUES (7)`.execute(db);
      expect((await sql<{ v: number }>`SELECT v FROM m`.execute(db)).rows).toEqual([{ v: 7 }]);
    } finally {
      await db.destroy();
    }
  });

  it('closing the store answers or refuses every queued unit; every answered one is on disk', async () => {
    const { db, dialect, path } = await open();
    const units = Array.from({ length: 300 }, (_, i) =>
      dialect.driver.runBatch([q('INSERT INTO t (n) VALUES (?)', i)], true).then(
        () => i,
        () => null,
      ),
    );
    await new Promise((r) => setImmediate(r));
    await db.destroy();
    const acked = (await Promise.all(units)).filter((n): n is number => n !== null);
    expect(acked.length).toBeGreaterThan(0);
    const stored = new Set(rowsOf(path).map((r) => r.n));
    for (const n of acked) expect(stored.has(n)).toBe(true);
    await expect(dialect.driver.runBatch([q('SELECT 1')], true)).rejects.toThrow(/closed/);
  });

  describe('crash', () => {
    beforeAll(() => ensureBuilt(), 120_000);

    it('SIGKILL right after acknowledgements: every acknowledged unit is in the file', async () => {
      const { path, db } = await open();
      await db.destroy();
      // A child writes 64 units at a time, prints each one as soon as it is acknowledged, and
      // kills itself in the same tick as its 500th acknowledgement, while units (of 50 kB each, so a
      // group takes a while to write) are in flight.
      const program = `
        import { writeSync } from 'node:fs';
        import { CompiledQuery } from 'kysely';
        import { ThreadSqliteDialect } from ${JSON.stringify(join(ROOT, 'dist/src/store/sqlite/threadDialect.js'))};
        const d = new ThreadSqliteDialect(${JSON.stringify(path)}, ${JSON.stringify(PRAGMAS)});
        let n = 0;
        const one = async () => {
          for (;;) {
            const i = n++;
            await d.driver.runBatch([CompiledQuery.raw('INSERT INTO t (n, tag) VALUES (?, ?)', [i, 'x'.repeat(50_000)])], true);
            writeSync(1, i + '\\n');
            if (i >= 500) process.kill(process.pid, 'SIGKILL');
          }
        };
        for (let k = 0; k < 64; k++) void one();
      `;
      // A file, not `-e`: the SQLite thread would inherit `--input-type=module`.
      const script = join(ROOT, 'dist', `groupCommitChild-${process.pid}.mjs`);
      writeFileSync(script, program);
      const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      const acked: number[] = [];
      let text = '';
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const lines = text.split('\n');
          text = lines.pop() ?? '';
          for (const l of lines) acked.push(Number(l));
        });
        void exited.then(() => resolve());
      });
      await exited;
      rmSync(script, { force: true });
      expect(child.signalCode).toBe('SIGKILL');
      const stored = new Set(rowsOf(path).map((r) => r.n));
      for (const n of acked) expect(stored.has(n)).toBe(true);
    }, 60_000);
  });
});
