/**
 * Ingest through the real HTTP API: `runhook serve` (SQLite on the real disk, its own delivery
 * worker in the same process, as deployed by default) in a child process, one organization (the
 * bootstrap key), one agent and one signed `standard` webhook pointing at the bench receiver, all
 * made through the API. A load generator in this process keeps `connections` keep-alive
 * connections busy posting finished runs to `POST /api/v1/runs` for a warm-up, then a measured
 * window; then the load stops and the backlog drains.
 *
 * Measured over the window: runs accepted (201) per second and their latency, deliveries received
 * per second, the serve process's CPU per accepted run (/proc/<pid>/stat); right after it, the
 * pending deliveries left (read from the database file). Afterwards every accepted run must have
 * reached the receiver exactly once, and every delivery must be `succeeded` with one attempt.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { Pool, request } from 'undici';
import { generateApiKey } from '../src/security/apiKeys.js';
import { BENCH_RUN } from './backlog.js';
import { BENCH_SECRET_KEY, percentile, type ReceiverHandle } from './endToEnd.js';
import { pidCpuUs, threadCpuUs, threadSplit } from './meter.js';
import type { Arrival } from './receiver.js';

export interface ApiIngestResult {
  /** The measured window, s. */
  seconds: number;
  /** Runs accepted (201) per second over the window. */
  ingestRps: number;
  /** Latency of the requests answered within the window, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Deliveries the receiver got per second over the window. */
  deliveredRps: number;
  /** Pending deliveries right after the load stopped. */
  backlogEnd: number;
  /** backlogEnd / deliveredRps: how far delivery was behind, s. */
  backlogSeconds: number;
  /** CPU of the serve process over the window per run accepted in it, µs. */
  serveCpuUsPerRun: number;
  /** The same split by thread: main, busiest other thread (SQLite's), all others; µs per run. */
  serveCpuSplit: { main: number; busiest: number; rest: number };
  /** Peak RSS of the serve process over its life, MB. */
  serveRssMaxMb: number;
  /** RSS of the serve process IDLE_SECONDS after it answered /readyz, before any request, MB. */
  idleRssMb: number;
  /** Runs accepted in all (warm-up and window), and how long they took to drain after the load. */
  totalAccepted: number;
  drainSeconds: number;
  problems: string[];
}

/** The `runhook` that serves; BENCH_SERVE_MAIN runs another build's instead, to compare two. */
const SERVE_MAIN = process.env.BENCH_SERVE_MAIN ?? new URL('../bin/runhook.js', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(origin: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`runhook serve exited (${child.exitCode}):\n${logTail(logPath)}`);
    try {
      const res = await request(`${origin}/readyz`);
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`runhook serve not ready after 60 s:\n${logTail(logPath)}`);
}

async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A process's `VmHWM` (peak) or `VmRSS` (now), MB. */
function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'latin1').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** How long the serve process idles after start before its RSS is read (`idle_rss_mb`). */
const IDLE_SECONDS = 5;

/** ISO-8601 to the second, as the API documents its times. */
const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export async function measureApiIngest(input: {
  receiver: ReceiverHandle;
  receiverUrl: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  logLevel: string;
}): Promise<ApiIngestResult> {
  const dir = mkdtempSync(join(tmpdir(), 'runhook-bench-api-'));
  const dbPath = join(dir, 'runhook.db');
  const logPath = join(dir, 'serve.log');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const apiKey = generateApiKey();
  const logFd = openSync(logPath, 'a');
  // BENCH_API_CPU_PROFILE=<folder>: a .cpuprofile of the serve process, written when it stops.
  const profileDir = process.env.BENCH_API_CPU_PROFILE;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, SERVE_MAIN, 'serve'], {
    stdio: ['ignore', logFd, logFd],
    env: {
      // RUNHOOK_* variables of the bench's environment pass through (e.g. RUNHOOK_WEBHOOK_CONCURRENCY).
      ...process.env,
      RUNHOOK_DATABASE_URL: `sqlite:${dbPath}`,
      RUNHOOK_HOST: '127.0.0.1',
      RUNHOOK_PORT: String(port),
      RUNHOOK_SECRET_KEY: BENCH_SECRET_KEY,
      RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
      RUNHOOK_LOG_LEVEL: process.env.RUNHOOK_LOG_LEVEL ?? input.logLevel,
      RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
      RUNHOOK_PUBLIC_URL: 'http://runhook.bench',
    },
  });
  closeSync(logFd);
  const problems: string[] = [];
  const pool = new Pool(origin, { connections: input.connections, keepAliveTimeout: 30_000 });
  try {
    await waitReady(origin, child, logPath);
    // Idle, as after `runhook serve` starts: its worker polls an empty database, nobody calls.
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const idleRssMb = statusMb(child.pid as number, 'VmRSS');
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const res = await pool.request({ path, method: 'POST', headers, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`POST ${path} answered ${res.statusCode}: ${text}`);
      return JSON.parse(text) as { id: string };
    };
    const agent = await post('/api/v1/agents', { name: 'bench agent' });
    await post('/api/v1/webhooks', {
      agent_id: agent.id,
      url: `${input.receiverUrl}/api`,
      secret: `whsec_${randomBytes(24).toString('base64')}`,
      format: 'standard',
    });
    input.receiver.start({ keepArrivals: true });

    // The load: each connection posts a finished run as soon as its last one is answered.
    const accepted: string[] = [];
    const latencies: number[] = [];
    const refused = new Map<string, number>();
    let inWindow = 0;
    const t0 = performance.now();
    const w0 = t0 + input.warmupSeconds * 1000;
    const w1 = w0 + input.seconds * 1000;
    /** The serve process's clock and CPU at one edge of the window. */
    const sample = () => ({
      wall: Date.now(),
      cpu: pidCpuUs(child.pid as number),
      threads: threadCpuUs(child.pid as number),
    });
    const edges: { start?: ReturnType<typeof sample>; end?: ReturnType<typeof sample> } = {};
    const mark0 = setTimeout(
      () => {
        edges.start = sample();
      },
      Math.max(0, w0 - performance.now()),
    );
    const mark1 = setTimeout(
      () => {
        edges.end = sample();
      },
      Math.max(0, w1 - performance.now()),
    );
    const lanes = Array.from({ length: input.connections }, async () => {
      while (performance.now() < w1) {
        const now = Date.now();
        const body = JSON.stringify({
          agent_id: agent.id,
          name: BENCH_RUN.name,
          started_at: isoSeconds(now - BENCH_RUN.durationMs),
          status: BENCH_RUN.status,
          passed_count: BENCH_RUN.passedCount,
          failed_count: BENCH_RUN.failedCount,
          error_count: BENCH_RUN.errorCount,
        });
        const sent = performance.now();
        const res = await pool.request({ path: '/api/v1/runs', method: 'POST', headers, body });
        const text = await res.body.text();
        const answered = performance.now();
        if (res.statusCode === 201) {
          accepted.push((JSON.parse(text) as { id: string }).id);
          if (answered >= w0 && answered < w1) {
            inWindow++;
            latencies.push(answered - sent);
          }
        } else {
          const key = `${res.statusCode} ${text.slice(0, 200)}`;
          refused.set(key, (refused.get(key) ?? 0) + 1);
        }
      }
    });
    await Promise.all(lanes);
    clearTimeout(mark0);
    clearTimeout(mark1);
    // The window's end, sampled now if the load outlasted it.
    const last = edges.end ?? sample();
    // What is left to deliver the moment the load stops (a read-only look at the WAL database).
    const backlogEnd = (() => {
      const db = new SqliteDatabase(dbPath, { readonly: true });
      try {
        db.pragma('busy_timeout = 5000');
        return (
          db.prepare(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`).get() as { n: number }
        ).n;
      } finally {
        db.close();
      }
    })();
    const stopped = performance.now();
    const windowSeconds = input.seconds;
    for (const [what, n] of refused) problems.push(`API ingest: ${n} × POST /api/v1/runs answered ${what}`);

    // Drain: until every accepted run has arrived (or nothing arrives for 60 s), then 1 s more for
    // late duplicates.
    const arrivals: Arrival[] = [];
    let drained = Number.NaN;
    let lastProgress = performance.now();
    while (performance.now() - lastProgress < 60_000) {
      const c = await input.receiver.collect({ keepArrivals: true });
      if (c.arrivals.length > 0) lastProgress = performance.now();
      for (const a of c.arrivals) arrivals.push(a);
      if (arrivals.length >= accepted.length) {
        drained = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const late = await input.receiver.collect({ keepArrivals: false });
    for (const a of late.arrivals) arrivals.push(a);
    const serveRssMaxMb = statusMb(child.pid as number, 'VmHWM');

    const wall0 = edges.start?.wall ?? Number.NaN;
    const delivered = arrivals.filter((a) => a.at >= wall0 && a.at < last.wall).length;
    const arrivalsPerRun = new Map<string, number>();
    for (const a of arrivals) arrivalsPerRun.set(a.runId, (arrivalsPerRun.get(a.runId) ?? 0) + 1);
    const acceptedSet = new Set(accepted);
    const missing = accepted.filter((id) => !arrivalsPerRun.has(id)).length;
    const twice = [...arrivalsPerRun.values()].filter((n) => n > 1).length;
    const unknown = [...arrivalsPerRun.keys()].filter((id) => !acceptedSet.has(id)).length;
    const webhookIds = new Set(arrivals.map((a) => a.webhookId));
    if (missing > 0)
      problems.push(`API ingest: ${missing} of ${accepted.length} accepted runs never reached the receiver`);
    if (twice > 0) problems.push(`API ingest: ${twice} runs reached the receiver more than once`);
    if (webhookIds.size !== arrivals.length)
      problems.push(`API ingest: ${arrivals.length - webhookIds.size} duplicate webhook-id values`);
    if (unknown > 0) problems.push(`API ingest: ${unknown} deliveries of runs the API never accepted`);

    await stopServe(child);
    // The serve process must not have logged an error (pino levels: 50 error, 60 fatal).
    const errors = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((line) => /"level":(50|60)\b/.test(line));
    if (errors.length > 0)
      problems.push(
        `API ingest: runhook serve logged ${errors.length} errors, the first: ${errors[0]?.slice(0, 300)}`,
      );
    const db = new SqliteDatabase(dbPath, { readonly: true });
    try {
      const succeeded = (
        db.prepare(`SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'`).get() as { n: number }
      ).n;
      const attempts = (db.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n;
      if (succeeded !== accepted.length)
        problems.push(`API ingest: ${succeeded} of ${accepted.length} deliveries succeeded`);
      if (attempts !== accepted.length)
        problems.push(`API ingest: ${attempts} attempts logged for ${accepted.length} deliveries`);
    } finally {
      db.close();
    }

    latencies.sort((a, b) => a - b);
    const deliveredRps = delivered / windowSeconds;
    const first = edges.start;
    const serveCpuUs = first?.cpu != null && last.cpu !== null ? last.cpu - first.cpu : Number.NaN;
    const split = threadSplit(first?.threads ?? new Map<number, number>(), last.threads, child.pid as number);
    const perRun = (us: number) => (inWindow > 0 ? us / inWindow : Number.NaN);
    return {
      seconds: windowSeconds,
      ingestRps: inWindow / windowSeconds,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      deliveredRps,
      backlogEnd,
      backlogSeconds: deliveredRps > 0 ? backlogEnd / deliveredRps : Number.POSITIVE_INFINITY,
      serveCpuUsPerRun: perRun(serveCpuUs),
      serveCpuSplit: { main: perRun(split.main), busiest: perRun(split.busiest), rest: perRun(split.rest) },
      serveRssMaxMb,
      idleRssMb,
      totalAccepted: accepted.length,
      drainSeconds: (drained - stopped) / 1000,
      problems,
    };
  } finally {
    await pool.close().catch(() => {});
    await stopServe(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
