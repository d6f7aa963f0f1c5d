/**
 * PostgreSQL batches in one round trip (docs/architecture.md#the-store): parameters written in as
 * literals must mean exactly what they meant as bound parameters, on a real server, for every
 * value the hot path sends, and a batch that fails must leave nothing behind.
 */
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRunner } from '../../src/store/postgres/openPostgres.js';
import { inlineParameters } from '../../src/store/postgres/simpleBatch.js';
import { postgresBackend, type TestDatabase } from '../helpers/backends.js';

const awkward: unknown[] = [
  "it's",
  "''",
  'back\\slash',
  "\\'",
  "E'x'",
  '$1 and $2',
  '-- not a comment',
  '/* not a comment */',
  'ümlaut ✓ 😀',
  '',
  ' ',
  'line\nbreak\ttab',
  '"quoted"',
  '{"a":"b\\"c"}',
  -5,
  -0.5,
  0,
  1.25,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  1e21,
  5e-7,
  null,
  true,
  false,
];

describe('inlineParameters', () => {
  it('leaves placeholders inside literals, identifiers and comments alone', () => {
    const text = `SELECT '$1' AS "$2", $1 -- $2\n, /* $1 */ $2`;
    expect(inlineParameters(text, ['a', 7])).toBe(`SELECT '$1' AS "$2", 'a' -- $2\n, /* $1 */ '7'`);
  });

  it('quotes numbers too, so that a minus before a negative one is no comment', () => {
    expect(inlineParameters('SELECT 3-$1', [-2])).toBe("SELECT 3-'-2'");
  });

  it('declines what it cannot write as a literal: the batch then binds parameters', () => {
    expect(inlineParameters('SELECT $1', [Buffer.from('x')])).toBeNull();
    expect(inlineParameters('SELECT $1', [Number.NaN])).toBeNull();
    expect(inlineParameters('SELECT $1', [new Date()])).toBeNull();
    expect(inlineParameters('SELECT $1', ['nul\0byte'])).toBeNull();
    expect(inlineParameters('SELECT $2', ['only one'])).toBeNull();
    expect(inlineParameters('SELECT $$x$$, $1', ['a'])).toBeNull();
  });
});

const pgBackend = postgresBackend;
describe.skipIf(!pgBackend)('one round trip on a real PostgreSQL', () => {
  let database: TestDatabase;
  let client: pg.Client;
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await (pgBackend as NonNullable<typeof pgBackend>).create();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await client?.end();
    await pool?.end();
    await database?.drop();
  });

  it('every awkward value reads back the same as a bound parameter', async () => {
    for (const value of awkward) {
      const text = 'SELECT CAST($1 AS text) AS v, $2::int AS n, 10 - $2 AS m';
      const bound = await client.query(text, [value, 1]);
      const inlined = inlineParameters(text, [value, 1]);
      expect(inlined, String(value)).not.toBeNull();
      const written = await client.query(inlined as string);
      expect(written.rows[0], String(value)).toEqual(bound.rows[0]);
    }
  });

  it('the JSON array parameter of a group commit survives quotes and backslashes', async () => {
    const rows = awkward.map((v, i) => [i, typeof v === 'string' ? v : JSON.stringify(v)]);
    const text = `SELECT CAST(e.value->>0 AS integer) AS i, e.value->>1 AS s
      FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e ORDER BY 1`;
    const bound = await client.query(text, [JSON.stringify(rows)]);
    const written = await client.query(inlineParameters(text, [JSON.stringify(rows)]) as string);
    expect(written.rows).toEqual(bound.rows);
    expect(written.rows.map((r) => r.s)).toEqual(rows.map((r) => r[1]));
  });

  it('a batch runs as one transaction: a failing statement leaves none of the others', async () => {
    await client.query('CREATE TABLE batch_probe (id int PRIMARY KEY, note text)');
    const runBatch = batchRunner(pool);
    const insert = (id: number, note: string) =>
      CompiledQuery.raw('INSERT INTO batch_probe (id, note) VALUES ($1, $2) RETURNING note', [id, note]);
    const ok = await runBatch([insert(1, "it's"), insert(2, 'a\\b')], { durable: true });
    expect(ok.map((r) => r.rows[0]?.note)).toEqual(["it's", 'a\\b']);
    await expect(runBatch([insert(3, 'three'), insert(1, 'duplicate')], { durable: true })).rejects.toThrow(
      /duplicate key/,
    );
    // The connection went back to the pool clean: the next batch works, and row 3 never landed.
    const after = await runBatch([CompiledQuery.raw('SELECT count(*)::int AS n FROM batch_probe', [])], {
      durable: false,
      locks: ['w:one', 'o:two'],
    });
    expect(after[0]?.rows[0]).toEqual({ n: 2 });
  });
});
