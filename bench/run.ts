/**
 * `npm run bench`: the raw HTTP ceiling, then Runhook end to end on SQLite and (when reachable)
 * PostgreSQL, against one receiver in its own process. Prints a table; the last line is one JSON
 * object with the figures. See bench/README.md.
 *
 * Knobs (environment): BENCH_RUNS (events per throughput phase, default 10000), BENCH_LOG_LEVEL
 * (the engine's pino level, default info, written to /dev/null), BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/runhook_bench; `off` skips PostgreSQL), BENCH_PG_ANALYZE=0
 * (skip the ANALYZE after the PostgreSQL backlog is created), BENCH_CPU_PROFILE (a folder: CPU
 * profile of each throughput phase).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { standardPayload } from '../src/domain/payloads.js';
import { buildDeliveryHeaders } from '../src/domain/signing.js';
import type { TestRun } from '../src/domain/types.js';
import { USER_AGENT } from '../src/version.js';
import { type EndToEndResult, measureEndToEnd, type ReceiverHandle } from './endToEnd.js';
import { measureRawCeiling } from './rawCeiling.js';
import type { Arrival, ReceiverMessage } from './receiver.js';

const CONCURRENCY = 64; // RUNHOOK_WORKER_CONCURRENCY's default, and the raw Pool's connections
const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/runhook_bench';
/** 16 webhooks (4 organizations × 4 agents) at the default per-webhook cap of 8: up to 128 in flight, so the 64 slots fill. */
const ORGANIZATIONS = 4;
const AGENTS_PER_ORGANIZATION = 4;
const LATENCY_RATE = 500;
const LATENCY_SECONDS = 3;

async function startReceiver(): Promise<{ handle: ReceiverHandle; origin: string; child: ChildProcess }> {
  const child = fork(new URL('./receiver.js', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: Array<(arrivals: Arrival[]) => void> = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (msg: ReceiverMessage) => {
      if (msg.type === 'ready') resolve(msg.port);
      else if (msg.type === 'collected') waiters.shift()?.(msg.arrivals);
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    child,
    origin,
    handle: {
      url: `${origin}/hook`,
      collect: () =>
        new Promise<Arrival[]>((resolve) => {
          waiters.push(resolve);
          child.send({ type: 'collect' });
        }),
    },
  };
}

/** Bodies and headers shaped exactly like Runhook's standard deliveries, for the raw ceiling. */
function sampleDeliveries(count: number): { bodies: string[]; headers: Record<string, string> } {
  const now = Date.now();
  const bodies = Array.from({ length: count }, (_, i) => {
    const run: TestRun = {
      id: randomUUID(),
      orgId: randomUUID(),
      seq: i + 1,
      name: 'Emergency Response Test',
      agentId: randomUUID(),
      agentName: 'agent 0',
      status: 'completed',
      passedCount: 17,
      failedCount: 3,
      errorCount: 0,
      totalScenarios: null,
      startedAt: now - 165_000,
      completedAt: now,
      createdAt: now,
      failures: [],
      testSuiteId: null,
      testMode: null,
      maxScenarios: null,
      maxTurns: null,
    };
    return JSON.stringify(standardPayload(run, now, 'http://runhook.bench'));
  });
  const headers = buildDeliveryHeaders({
    format: 'standard',
    eventId: randomUUID(),
    timestampSec: Math.floor(now / 1000),
    body: bodies[0] as string,
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    customHeaders: {},
    userAgent: USER_AGENT,
  });
  return { bodies, headers };
}

async function postgresReachable(url: string): Promise<boolean> {
  const target = new URL(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
  } catch {
    return false;
  }
  try {
    const name = target.pathname.slice(1);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    return true;
  } finally {
    await client.end();
  }
}

async function benchSqlite(receiver: ReceiverHandle): Promise<EndToEndResult> {
  // On the real disk (os.tmpdir() here is ext4, not tmpfs): synchronous=FULL fsyncs for real.
  const dir = mkdtempSync(join(tmpdir(), 'runhook-bench-'));
  const path = join(dir, 'runhook.db');
  try {
    return await measureEndToEnd({
      label: 'Runhook, SQLite',
      databaseUrl: `sqlite:${path}`,
      receiver,
      runs: RUNS,
      organizations: ORGANIZATIONS,
      agentsPerOrganization: AGENTS_PER_ORGANIZATION,
      latencyRate: LATENCY_RATE,
      latencySeconds: LATENCY_SECONDS,
      logLevel: LOG_LEVEL,
      countLogged: async () => {
        const db = new SqliteDatabase(path, { readonly: true });
        try {
          const succeeded = db
            .prepare(`SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'`)
            .get() as { n: number };
          const attempts = db.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number };
          return { succeeded: succeeded.n, attempts: attempts.n };
        } finally {
          db.close();
        }
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(receiver: ReceiverHandle): Promise<EndToEndResult> {
  // A fresh schema per run, dropped afterwards.
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  try {
    return await measureEndToEnd({
      label: 'Runhook, PostgreSQL',
      databaseUrl: url.toString(),
      receiver,
      runs: RUNS,
      organizations: ORGANIZATIONS,
      agentsPerOrganization: AGENTS_PER_ORGANIZATION,
      latencyRate: LATENCY_RATE,
      latencySeconds: LATENCY_SECONDS,
      logLevel: LOG_LEVEL,
      // A fresh table has no statistics yet, and the planner then scans every pending row for a
      // claim (bitmap scan and sort) instead of walking deliveries_due; autovacuum analyzes a live
      // database within a minute. BENCH_PG_ANALYZE=0 measures the cold table.
      afterBacklog:
        process.env.BENCH_PG_ANALYZE === '0'
          ? undefined
          : async () => {
              await admin.query(`ANALYZE ${schema}.deliveries, ${schema}.webhooks, ${schema}.attempts`);
            },
      countLogged: async () => {
        const s = await admin.query(
          `SELECT count(*)::int AS n FROM ${schema}.deliveries WHERE status = 'succeeded'`,
        );
        const a = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.attempts`);
        return { succeeded: s.rows[0].n as number, attempts: a.rows[0].n as number };
      },
    });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function check(r: EndToEndResult): string[] {
  const expected = r.runs + r.latencyEvents;
  const problems: string[] = [];
  if (r.succeeded !== expected)
    problems.push(`${r.label}: ${r.succeeded} of ${expected} deliveries succeeded`);
  if (r.attemptsLogged !== expected)
    problems.push(`${r.label}: ${r.attemptsLogged} attempts logged for ${expected} deliveries`);
  if (r.received !== expected)
    problems.push(`${r.label}: receiver got ${r.received} requests for ${expected} events`);
  if (r.duplicates !== 0) problems.push(`${r.label}: ${r.duplicates} duplicate deliveries`);
  return problems;
}

async function main(): Promise<void> {
  const started = Date.now();
  const receiver = await startReceiver();
  try {
    const { bodies, headers } = sampleDeliveries(256);
    const raw = await measureRawCeiling({
      origin: receiver.origin,
      path: '/hook',
      bodies,
      headers,
      concurrency: CONCURRENCY,
      seconds: 3,
      warmupSeconds: 0.5,
    });
    await receiver.handle.collect();

    const sqlite = await benchSqlite(receiver.handle);
    const postgres =
      PG_URL !== 'off' && (await postgresReachable(PG_URL)) ? await benchPostgres(receiver.handle) : null;

    const rows: string[][] = [
      ['', 'deliveries/s', 'ratio', 'p50 ms', 'p99 ms', 'max ms', 'events', 'created/s', 'attempts logged'],
      ['raw undici Pool', fmt(raw.rps), '1.00', '-', '-', '-', String(raw.requests), '-', '-'],
    ];
    for (const r of [sqlite, postgres]) {
      if (!r) continue;
      rows.push([
        r.label,
        fmt(r.rps),
        fmt(r.rps / raw.rps, 2),
        fmt(r.p50Ms),
        fmt(r.p99Ms),
        fmt(r.maxMs),
        `${r.runs}+${r.latencyEvents}`,
        fmt(r.createPerSecond),
        String(r.attemptsLogged),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
    const line = (row: string[]) =>
      row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    process.stdout.write(
      `\nRunhook benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, concurrency ${CONCURRENCY}, ` +
        `${ORGANIZATIONS * AGENTS_PER_ORGANIZATION} webhooks, log level ${LOG_LEVEL}\n` +
        `latency: ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s, event creation → receipt\n\n`,
    );
    for (const row of rows) process.stdout.write(`${line(row)}\n`);
    if (!postgres)
      process.stdout.write(
        `\nPostgreSQL not measured (${PG_URL === 'off' ? 'BENCH_PG_URL=off' : `not reachable at ${PG_URL}`})\n`,
      );

    const problems = [sqlite, postgres].flatMap((r) => (r ? check(r) : []));
    for (const p of problems) process.stdout.write(`PROBLEM: ${p}\n`);
    process.stdout.write(`\ntook ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const round = (n: number, d: number) => Number(n.toFixed(d));
    const summary: Record<string, number> = {
      raw_rps: round(raw.rps, 0),
      sqlite_rps: round(sqlite.rps, 0),
      sqlite_ratio: round(sqlite.rps / raw.rps, 3),
    };
    if (postgres) {
      summary.postgres_rps = round(postgres.rps, 0);
      summary.postgres_ratio = round(postgres.rps / raw.rps, 3);
    }
    summary.p50_ms = sqlite.p50Ms;
    summary.p99_ms = sqlite.p99Ms;
    if (postgres) {
      summary.postgres_p50_ms = postgres.p50Ms;
      summary.postgres_p99_ms = postgres.p99Ms;
    }
    if (problems.length > 0) process.exitCode = 1;
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    receiver.child.send({ type: 'exit' });
  }
}

await main();
