/**
 * `npm run bench`: the raw HTTP ceiling, the floor relays (bench/floorRelay.ts), then Runhook end to
 * end on SQLite and (when reachable) PostgreSQL, compared with the floor, then ingest through the HTTP API of a `runhook serve` process, against one receiver
 * in its own process. Prints a table; the last line is one JSON object with the figures. See
 * bench/README.md.
 *
 * Knobs (environment): BENCH_PHASES (comma-separated, default raw,floor,sqlite,postgres,workers,api,results),
 * BENCH_RUNS (events per throughput phase, default 10000), BENCH_FLOOR_RUNS (deliveries of each floor
 * relay, default BENCH_RUNS), BENCH_WARMUP_RUNS (runs delivered
 * before each throughput phase's backlog is built, on warm-up's own worker, default 3000; 0 measures
 * from a cold start), BENCH_BACKLOG (`bulk`, the default, or
 * `store`: through store.createFinishedRun, BENCH_BACKLOG_CONCURRENCY at a time, default 128),
 * BENCH_LOG_LEVEL (the engine's pino level, default info, written to /dev/null), BENCH_PG_URL
 * (default postgres://postgres@127.0.0.1:5432/runhook_bench; `off` skips PostgreSQL),
 * BENCH_PG_ANALYZE=0 (skip the ANALYZE after the PostgreSQL backlog is created),
 * BENCH_CPU_PROFILE (a folder: CPU profile of each throughput phase), BENCH_API_SECONDS (the API
 * phase's measured window, default 10), BENCH_WORKER_COUNTS (the `workers` phase's numbers of
 * `runhook worker` processes, default 1,2,4) and BENCH_WORKER_RUNS (its backlog, default 6000).
 * RUNHOOK_* variables reach the API phase's serve process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/store/schema.js';
import { type ApiIngestResult, measureApiIngest } from './apiIngest.js';
import { type BacklogMode, type EndToEndResult, measureEndToEnd, type ReceiverHandle } from './endToEnd.js';
import { type FloorResult, measureFloor } from './floorRelay.js';
import { measureRaw, postgresReachable, sampleDeliveries, scratchSchema, startReceiver } from './harness.js';
import { PeakRss, PgBackendCpu } from './meter.js';
import type { RawResult } from './rawCeiling.js';
import { measureResults, type ResultsBenchResult } from './resultsBench.js';
import { measureWorkers, type WorkersResult } from './workersBench.js';

const CONCURRENCY = 64; // RUNHOOK_WORKER_CONCURRENCY's default, and the raw Pool's connections
const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const FLOOR_RUNS = Number(process.env.BENCH_FLOOR_RUNS ?? RUNS);
/** The raw client warms up for half a second before it is measured; Runhook's drains get theirs too. */
const WARMUP_RUNS = Number(process.env.BENCH_WARMUP_RUNS ?? 3_000);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/runhook_bench';
/** 16 webhooks (4 organizations × 4 agents) at the default per-webhook cap of 8: up to 128 in flight, so the 64 slots fill. */
const ORGANIZATIONS = 4;
const AGENTS_PER_ORGANIZATION = 4;
const LATENCY_RATE = 500;
const LATENCY_SECONDS = 3;
const PHASE_NAMES = ['raw', 'floor', 'sqlite', 'postgres', 'workers', 'api', 'results'] as const;
type Phase = (typeof PHASE_NAMES)[number];
const API_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const API_CONNECTIONS = 32;
/** The goals against the floor (bench/README.md): Runhook's share of its deliveries/s, and at most this multiple of its CPU. */
const FLOOR_GOALS = {
  sqlite: { share: 0.9, cpu: 1.3 },
  postgres: { share: 0.8, cpu: 2 },
} as const;

function phasesFromEnv(): Set<Phase> {
  const text = process.env.BENCH_PHASES ?? PHASE_NAMES.join(',');
  const out = new Set<Phase>();
  for (const name of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    if (!(PHASE_NAMES as readonly string[]).includes(name))
      throw new Error(`BENCH_PHASES: unknown phase "${name}" (phases: ${PHASE_NAMES.join(', ')})`);
    out.add(name as Phase);
  }
  return out;
}

function backlogFromEnv(): BacklogMode {
  const kind = process.env.BENCH_BACKLOG ?? 'bulk';
  if (kind === 'bulk') return { kind };
  if (kind === 'store') return { kind, concurrency: Number(process.env.BENCH_BACKLOG_CONCURRENCY ?? 128) };
  throw new Error(`BENCH_BACKLOG: "${kind}" is neither bulk nor store`);
}

async function benchSqlite(receiver: ReceiverHandle, rss: PeakRss): Promise<EndToEndResult> {
  // On the real disk (os.tmpdir() here is ext4, not tmpfs): synchronous=FULL fsyncs for real.
  const dir = mkdtempSync(join(tmpdir(), 'runhook-bench-'));
  const path = join(dir, 'runhook.db');
  // The bulk backlog's own connection, opened on first use (after the store has migrated the file).
  const bulkDb = new Kysely<Database>({
    dialect: new SqliteDialect({
      database: async () => {
        const db = new SqliteDatabase(path);
        db.pragma('busy_timeout = 5000');
        return db;
      },
    }),
  });
  try {
    return await measureEndToEnd({
      label: 'Runhook, SQLite',
      databaseUrl: `sqlite:${path}`,
      receiver,
      runs: RUNS,
      warmupRuns: WARMUP_RUNS,
      organizations: ORGANIZATIONS,
      agentsPerOrganization: AGENTS_PER_ORGANIZATION,
      latencyRate: LATENCY_RATE,
      latencySeconds: LATENCY_SECONDS,
      logLevel: LOG_LEVEL,
      backlog: backlogFromEnv(),
      bulkDb,
      bulkTarget: { kind: 'sqlite', path },
      rss,
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
    await bulkDb.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(receiver: ReceiverHandle, rss: PeakRss): Promise<EndToEndResult> {
  // A fresh schema per run, dropped afterwards.
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const { schema, url } = await scratchSchema(admin, PG_URL, 'bench');
  const bulkDb = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }),
  });
  // The engine's connections carry a name of their own, so their backends can be found and measured.
  const engineUrl = new URL(url);
  engineUrl.searchParams.set('application_name', `runhook-${schema}`);
  try {
    return await measureEndToEnd({
      label: 'Runhook, PostgreSQL',
      databaseUrl: engineUrl.toString(),
      receiver,
      runs: RUNS,
      warmupRuns: WARMUP_RUNS,
      organizations: ORGANIZATIONS,
      agentsPerOrganization: AGENTS_PER_ORGANIZATION,
      latencyRate: LATENCY_RATE,
      latencySeconds: LATENCY_SECONDS,
      logLevel: LOG_LEVEL,
      backlog: backlogFromEnv(),
      bulkDb,
      bulkTarget: { kind: 'postgres', url: url.toString() },
      rss,
      serverCpu: new PgBackendCpu(admin, `runhook-${schema}`),
      // A fresh table has no statistics yet, and the planner then scans every pending row for a
      // claim (bitmap scan and sort) instead of walking deliveries_due, and every run of the agent
      // for a finished run's baseline instead of walking test_runs_agent_seq back to the first
      // match; autovacuum analyzes a live database within a minute. BENCH_PG_ANALYZE=0 measures
      // the cold tables.
      afterBacklog:
        process.env.BENCH_PG_ANALYZE === '0'
          ? undefined
          : async () => {
              await admin.query(
                `ANALYZE ${['deliveries', 'webhooks', 'attempts', 'test_runs', 'events', 'agents', 'organizations'].map((t) => `${schema}.${t}`).join(', ')}`,
              );
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
    await bulkDb.destroy();
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
  if (r.backlog.differences.length > 0)
    problems.push(
      `${r.label}: the bulk backlog differs from store.createFinishedRun's rows in ${r.backlog.differences.join(', ')} (bench/backlog.ts)`,
    );
  if (r.succeeded !== expected)
    problems.push(`${r.label}: ${r.succeeded} of ${expected} deliveries succeeded`);
  if (r.attemptsLogged !== expected)
    problems.push(`${r.label}: ${r.attemptsLogged} attempts logged for ${expected} deliveries`);
  if (r.received !== expected)
    problems.push(`${r.label}: receiver got ${r.received} requests for ${expected} events`);
  if (r.duplicates !== 0) problems.push(`${r.label}: ${r.duplicates} duplicate deliveries`);
  return problems;
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/**
 * The floor relays beside Runhook's drains of the same run: deliveries/s and CPU per delivery, and
 * Runhook's share of the floor's rate and multiple of its CPU (on PostgreSQL, the server's), each
 * against its goal.
 */
function floorRows(
  floor: FloorResult,
  sqlite: EndToEndResult | null,
  postgres: EndToEndResult | null,
): string[][] {
  const rows: string[][] = [
    [
      'against the floor',
      'floor /s',
      'Runhook /s',
      'share (goal)',
      'floor CPU µs',
      'Runhook CPU µs',
      'multiple (goal)',
    ],
  ];
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined ? Number.NaN : a / b;
  rows.push([
    'SQLite (`real tables`; process CPU)',
    fmt(floor.sqlite.rps),
    sqlite ? fmt(sqlite.rps) : '-',
    `${fmt(ratio(sqlite?.rps, floor.sqlite.rps), 2)} (≥ ${FLOOR_GOALS.sqlite.share})`,
    fmt(floor.sqlite.cpuUsPerDelivery),
    sqlite ? fmt(sqlite.cpuUsPerDelivery) : '-',
    `${fmt(ratio(sqlite?.cpuUsPerDelivery, floor.sqlite.cpuUsPerDelivery), 2)} (≤ ${FLOOR_GOALS.sqlite.cpu})`,
  ]);
  const pgFloor = floor.postgres;
  if (pgFloor) {
    rows.push([
      'PostgreSQL (`postgres`; server CPU)',
      fmt(pgFloor.rps),
      postgres ? fmt(postgres.rps) : '-',
      `${fmt(ratio(postgres?.rps, pgFloor.rps), 2)} (≥ ${FLOOR_GOALS.postgres.share})`,
      fmt(pgFloor.dbCpuUsPerDelivery),
      postgres && postgres.backendCpuUsPerDelivery !== null ? fmt(postgres.backendCpuUsPerDelivery) : '-',
      `${fmt(ratio(postgres?.backendCpuUsPerDelivery, pgFloor.dbCpuUsPerDelivery), 2)} (≤ ${FLOOR_GOALS.postgres.cpu})`,
    ]);
    rows.push([
      'PostgreSQL (`postgres`; Node CPU)',
      '',
      '',
      '',
      fmt(pgFloor.cpuUsPerDelivery),
      postgres ? fmt(postgres.cpuUsPerDelivery) : '-',
      fmt(ratio(postgres?.cpuUsPerDelivery, pgFloor.cpuUsPerDelivery), 2),
    ]);
  }
  return rows;
}

async function main(): Promise<void> {
  const started = Date.now();
  const phases = phasesFromEnv();
  const rss = new PeakRss();
  const receiver = await startReceiver();
  try {
    let raw: RawResult | null = null;
    let rawRssMb = Number.NaN;
    if (phases.has('raw')) {
      progress('raw ceiling');
      rss.startPhase();
      const { bodies, headers } = sampleDeliveries(256);
      raw = await measureRaw(receiver, { bodies, headers }, CONCURRENCY);
      rawRssMb = rss.phaseMb();
    }

    let floor: FloorResult | null = null;
    if (phases.has('floor')) {
      const pgUrl = PG_URL !== 'off' && (await postgresReachable(PG_URL)) ? PG_URL : null;
      progress(`floor relays: ${FLOOR_RUNS} deliveries each (real tables${pgUrl ? ', postgres' : ''})`);
      rss.startPhase();
      floor = await measureFloor({ receiver, deliveries: FLOOR_RUNS, warmup: WARMUP_RUNS, pgUrl });
    }

    let sqlite: EndToEndResult | null = null;
    if (phases.has('sqlite')) {
      progress(`SQLite: ${RUNS} runs`);
      sqlite = await benchSqlite(receiver.handle, rss);
    }
    let postgres: EndToEndResult | null = null;
    let postgresSkipped: string | null = null;
    if (phases.has('postgres')) {
      if (PG_URL === 'off') postgresSkipped = 'BENCH_PG_URL=off';
      else if (!(await postgresReachable(PG_URL))) postgresSkipped = `not reachable at ${PG_URL}`;
      else {
        progress(`PostgreSQL: ${RUNS} runs`);
        postgres = await benchPostgres(receiver.handle, rss);
      }
    }
    let workers: WorkersResult | null = null;
    if (phases.has('workers') && PG_URL !== 'off' && (await postgresReachable(PG_URL))) {
      const counts = (process.env.BENCH_WORKER_COUNTS ?? '1,2,4').split(',').map(Number);
      const runs = Number(process.env.BENCH_WORKER_RUNS ?? 6_000);
      progress(`worker processes on PostgreSQL: ${counts.join(', ')} × ${runs} runs`);
      workers = await measureWorkers({ pgUrl: PG_URL, receiver: receiver.handle, counts, runs });
    }
    let api: ApiIngestResult | null = null;
    if (phases.has('api')) {
      progress(`API ingest: ${API_CONNECTIONS} connections for ${API_SECONDS} s`);
      rss.startPhase();
      api = await measureApiIngest({
        receiver: receiver.handle,
        receiverUrl: receiver.handle.url,
        connections: API_CONNECTIONS,
        seconds: API_SECONDS,
        warmupSeconds: 1,
        logLevel: LOG_LEVEL,
      });
    }

    const resultRows: ResultsBenchResult[] = [];
    if (phases.has('results')) {
      progress('scenario results: SQLite');
      resultRows.push(
        await measureResults({ receiver: receiver.handle, databaseUrl: null, label: 'SQLite', full: true }),
      );
      if (PG_URL !== 'off' && (await postgresReachable(PG_URL))) {
        progress('scenario results: PostgreSQL');
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        const { schema, url } = await scratchSchema(admin, PG_URL, 'bench_results');
        try {
          resultRows.push(
            await measureResults({
              receiver: receiver.handle,
              databaseUrl: url.toString(),
              label: 'PostgreSQL',
              full: false,
            }),
          );
        } finally {
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          await admin.end();
        }
      }
    }

    process.stdout.write(
      `\nRunhook benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, concurrency ${CONCURRENCY}, ` +
        `${ORGANIZATIONS * AGENTS_PER_ORGANIZATION} webhooks, log level ${LOG_LEVEL}, phases ${[...phases].join(',')}\n` +
        `warm-up: ${WARMUP_RUNS > 0 ? `${WARMUP_RUNS} runs delivered before each drain's backlog is built` : 'none (cold drains)'}\n` +
        `latency: ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s, event creation → receipt, and commit → receipt\n\n`,
    );
    const rows: string[][] = [
      [
        '',
        'deliveries/s',
        'ratio',
        'p50 ms',
        'p99 ms',
        'max ms',
        'commit p50/p99 ms',
        'events',
        'attempts logged',
      ],
    ];
    if (raw)
      rows.push(['raw undici Pool', fmt(raw.rps), '1.00', '-', '-', '-', '-', String(raw.requests), '-']);
    for (const r of [sqlite, postgres]) {
      if (!r) continue;
      rows.push([
        r.label,
        fmt(r.rps),
        raw ? fmt(r.rps / raw.rps, 2) : '-',
        fmt(r.p50Ms),
        fmt(r.p99Ms),
        fmt(r.maxMs),
        `${fmt(r.commitP50Ms)} / ${fmt(r.commitP99Ms)}`,
        `${r.runs}+${r.latencyEvents}`,
        String(r.attemptsLogged),
      ]);
    }
    if (rows.length > 1) process.stdout.write(`${table(rows)}\n\n`);

    const cost: string[][] = [
      ['CPU µs per delivery', 'process', 'main', 'busiest thread', 'other threads', 'database server'],
    ];
    if (raw) cost.push(['raw undici Pool (client only)', fmt(raw.cpuUsPerRequest), '-', '-', '-', '-']);
    for (const r of [sqlite, postgres]) {
      if (!r) continue;
      cost.push([
        r.label,
        fmt(r.cpuUsPerDelivery),
        fmt(r.cpuSplit.main),
        fmt(r.cpuSplit.busiest),
        fmt(r.cpuSplit.rest),
        r.backendCpuUsPerDelivery === null ? '-' : fmt(r.backendCpuUsPerDelivery),
      ]);
    }
    if (cost.length > 1) process.stdout.write(`${table(cost)}\n\n`);
    if (floor) process.stdout.write(`${table(floorRows(floor, sqlite, postgres))}\n\n`);

    const drain: string[][] = [
      [
        'backlog and drain',
        'backlog',
        'built in s',
        'runs/s',
        'first tenth/s',
        'last tenth/s',
        'peak RSS MB',
      ],
    ];
    for (const r of [sqlite, postgres]) {
      if (!r) continue;
      drain.push([
        r.label,
        `${r.runs} (${r.backlog.mode.kind === 'bulk' ? 'bulk' : `store ×${r.backlog.mode.concurrency}`})`,
        fmt(r.backlog.seconds, 1),
        fmt(r.backlog.runs / r.backlog.seconds),
        fmt(r.firstTenthRps),
        fmt(r.lastTenthRps),
        fmt(r.rssMaxMb),
      ]);
    }
    if (drain.length > 1) {
      process.stdout.write(`${table(drain)}\n`);
      for (const r of [sqlite, postgres]) {
        if (r)
          process.stdout.write(
            `${r.label}: deliveries/s by tenth of the drain: ${r.tenthsRps.map((n) => fmt(n)).join(' ')}\n`,
          );
      }
      process.stdout.write('\n');
    }

    if (api) {
      process.stdout.write(
        `API ingest (runhook serve, SQLite, 1 webhook, ${API_CONNECTIONS} connections, ${fmt(api.seconds, 1)} s window): ` +
          `${fmt(api.ingestRps)} runs/s accepted (p50 ${fmt(api.p50Ms, 1)} ms, p99 ${fmt(api.p99Ms, 1)} ms), ` +
          `${fmt(api.deliveredRps)} deliveries/s received; backlog at the end ${api.backlogEnd} ` +
          `(${fmt(api.backlogSeconds, 2)} s of delivery); serve CPU ${fmt(api.serveCpuUsPerRun)} µs per run (main thread ${fmt(api.serveCpuSplit.main)}, busiest other ${fmt(api.serveCpuSplit.busiest)}, rest ${fmt(api.serveCpuSplit.rest)}), idle RSS ${fmt(api.idleRssMb)} MB, peak ${fmt(api.serveRssMaxMb)} MB; ` +
          `${api.totalAccepted} runs drained in ${fmt(api.drainSeconds, 1)} s after the load\n\n`,
      );
    }
    for (const r of resultRows) {
      process.stdout.write(
        `Scenario results (${r.label}): finished run with 5,000 results p50 ${fmt(r.p50Ms5000, 1)} ms; ` +
          `${r.bytesPerResult === null ? '' : `${fmt(r.bytesPerResult, 1)} bytes per passing result; `}` +
          `runs of 1,000 results at 20/s: ${fmt(r.ingestRunsPerS, 1)} runs/s accepted, ${r.ingestBacklogEnd} deliveries pending at the end` +
          `${r.testsListP50Ms === null ? '' : `; GET /agents/{id}/tests (10,000 tests, 100 runs) p50 ${fmt(r.testsListP50Ms, 1)} ms`}${r.testHistoryP50Ms === null ? '' : `; a test's history (100 runs) p50 ${fmt(r.testHistoryP50Ms, 1)} ms`}\n`,
      );
    }
    if (resultRows.length > 0) process.stdout.write('\n');
    if (phases.has('postgres') && postgresSkipped)
      process.stdout.write(`PostgreSQL not measured (${postgresSkipped})\n`);

    const problems = [sqlite, postgres].flatMap((r) => (r ? check(r) : []));
    if (api) problems.push(...api.problems);
    for (const p of problems) process.stdout.write(`PROBLEM: ${p}\n`);
    process.stdout.write(`\ntook ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const round = (n: number, d: number) => Number(n.toFixed(d));
    const summary: Record<string, number | null> = {};
    const put = (key: string, n: number | null | undefined, digits = 0) => {
      if (n !== undefined) summary[key] = n === null || !Number.isFinite(n) ? null : round(n, digits);
    };
    put('raw_rps', raw?.rps);
    if (sqlite || postgres) put('warmup_runs', WARMUP_RUNS);
    if (sqlite) {
      put('sqlite_rps', sqlite.rps);
      if (raw) put('sqlite_ratio', sqlite.rps / raw.rps, 3);
    }
    if (postgres) {
      put('postgres_rps', postgres.rps);
      if (raw) put('postgres_ratio', postgres.rps / raw.rps, 3);
    }
    put('p50_ms', sqlite?.p50Ms);
    put('p99_ms', sqlite?.p99Ms);
    put('postgres_p50_ms', postgres?.p50Ms);
    put('postgres_p99_ms', postgres?.p99Ms);
    put('commit_p50_ms', sqlite?.commitP50Ms);
    put('commit_p99_ms', sqlite?.commitP99Ms);
    put('postgres_commit_p50_ms', postgres?.commitP50Ms);
    put('postgres_commit_p99_ms', postgres?.commitP99Ms);
    put('raw_cpu_us_per_request', raw?.cpuUsPerRequest, 1);
    put('cpu_us_per_delivery', sqlite?.cpuUsPerDelivery, 1);
    put('postgres_cpu_us_per_delivery', postgres?.cpuUsPerDelivery, 1);
    put('postgres_backend_cpu_us_per_delivery', postgres?.backendCpuUsPerDelivery, 1);
    put('postgres_server_us_per_delivery', postgres?.backendCpuUsPerDelivery, 1);
    if (floor) {
      put('floor_sqlite_rps', floor.sqlite.rps);
      put('floor_sqlite_cpu_us_per_delivery', floor.sqlite.cpuUsPerDelivery, 1);
      put('floor_postgres_rps', floor.postgres?.rps ?? undefined);
      put('floor_postgres_cpu_us_per_delivery', floor.postgres?.cpuUsPerDelivery ?? undefined, 1);
      put('floor_postgres_server_us_per_delivery', floor.postgres?.dbCpuUsPerDelivery ?? undefined, 1);
      if (sqlite) {
        put('sqlite_of_floor', sqlite.rps / floor.sqlite.rps, 2);
        put('sqlite_cpu_of_floor', sqlite.cpuUsPerDelivery / floor.sqlite.cpuUsPerDelivery, 2);
      }
      if (postgres && floor.postgres) {
        put('postgres_of_floor', postgres.rps / floor.postgres.rps, 2);
        put('postgres_cpu_of_floor', postgres.cpuUsPerDelivery / floor.postgres.cpuUsPerDelivery, 2);
        put(
          'postgres_server_cpu_of_floor',
          postgres.backendCpuUsPerDelivery === null
            ? null
            : postgres.backendCpuUsPerDelivery / floor.postgres.dbCpuUsPerDelivery,
          2,
        );
      }
    }
    put('sqlite_backlog_rps', sqlite ? sqlite.backlog.runs / sqlite.backlog.seconds : undefined);
    put('sqlite_first_tenth_rps', sqlite?.firstTenthRps);
    put('sqlite_last_tenth_rps', sqlite?.lastTenthRps);
    put('postgres_backlog_rps', postgres ? postgres.backlog.runs / postgres.backlog.seconds : undefined);
    put('postgres_first_tenth_rps', postgres?.firstTenthRps);
    put('postgres_last_tenth_rps', postgres?.lastTenthRps);
    if (workers) {
      for (const [n, rps] of workers.rps) put(`workers_${n}_rps`, rps);
      const one = workers.rps.get(1);
      for (const [n, rps] of workers.rps) if (one && n !== 1) put(`workers_${n}_of_1`, rps / one, 2);
    }
    if (api) {
      put('api_ingest_rps', api.ingestRps);
      put('api_p50_ms', api.p50Ms, 1);
      put('api_p99_ms', api.p99Ms, 1);
      put('api_delivered_rps', api.deliveredRps);
      put('api_backlog_end', api.backlogEnd);
      put('api_backlog_seconds', api.backlogSeconds, 2);
      put('api_serve_cpu_us_per_run', api.serveCpuUsPerRun, 1);
      put('api_serve_rss_max_mb', api.serveRssMaxMb);
      put('idle_rss_mb', api.idleRssMb);
    }
    const resultsSqlite = resultRows.find((r) => r.label === 'SQLite');
    const resultsPg = resultRows.find((r) => r.label === 'PostgreSQL');
    put('results_5000_p50_ms', resultsSqlite?.p50Ms5000, 1);
    put('results_5000_pg_p50_ms', resultsPg?.p50Ms5000, 1);
    put('results_ingest_runs_per_s', resultsSqlite?.ingestRunsPerS, 1);
    put('results_ingest_backlog_end', resultsSqlite?.ingestBacklogEnd);
    put('results_bytes_per_result', resultsSqlite?.bytesPerResult ?? undefined, 1);
    put('tests_list_p50_ms', resultsSqlite?.testsListP50Ms ?? undefined, 1);
    put('test_history_p50_ms', resultsSqlite?.testHistoryP50Ms ?? undefined, 1);
    put('raw_rss_max_mb', raw ? rawRssMb : undefined);
    put('sqlite_rss_max_mb', sqlite?.rssMaxMb);
    put('postgres_rss_max_mb', postgres?.rssMaxMb);
    put('rss_max_mb', rss.overallMb());
    if (problems.length > 0) process.exitCode = 1;
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    receiver.exit();
  }
}

await main();
