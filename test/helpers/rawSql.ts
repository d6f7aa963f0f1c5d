import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * A second, plain connection to a test database (its RUNHOOK_DATABASE_URL), beside the store's:
 * for checks the API cannot show and for faults only the database can inject (e.g. a trigger that
 * makes one insert fail). `statements` is one or more SQL statements run as a script.
 */
export interface RawSql {
  exec(statements: string): Promise<void>;
  /** The single number a `SELECT count(*) …`-style query answers. */
  count(query: string): Promise<number>;
  /** The rows a query answers, as objects. */
  rows<T = Record<string, unknown>>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function openRawSql(url: string): Promise<RawSql> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    db.pragma('busy_timeout = 5000');
    return {
      async exec(statements) {
        db.exec(statements);
      },
      async count(query) {
        return Number(db.prepare(query).pluck().get());
      },
      async rows<T>(query: string) {
        return db.prepare(query).all() as T[];
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async exec(statements) {
      await client.query(statements);
    },
    async count(query) {
      const result = await client.query({ text: query, rowMode: 'array' });
      return Number(result.rows[0]?.[0]);
    },
    async rows<T>(query: string) {
      return (await client.query(query)).rows as T[];
    },
    async close() {
      await client.end();
    },
  };
}

/** SQL that makes every insert into `table` fail, on either backend, and the SQL that undoes it. */
export function failInserts(
  backend: 'sqlite' | 'postgres',
  table: string,
): { install: string; remove: string } {
  const name = `fail_${table}_insert`;
  if (backend === 'sqlite') {
    return {
      install: `CREATE TRIGGER ${name} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`,
      remove: `DROP TRIGGER ${name};`,
    };
  }
  return {
    install: `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}();`,
    remove: `DROP TRIGGER ${name} ON ${table}; DROP FUNCTION ${name}();`,
  };
}
