/**
 * Runhook end to end on one database: a backlog of finished runs (rendered by domain/payloads.ts
 * as in production, see bench/backlog.ts), the real worker delivering them to the benchmark
 * receiver, and the attempt log checked afterwards.
 *
 * First, unless `warmupRuns` is 0, a warm-up: that many runs delivered by a worker of their own,
 * stopped before the measured backlog is built. Then two phases on the same database and worker:
 * 1. Throughput: `runs` finished runs are created first; the worker then starts and the clock runs
 *    until the last delivery's `succeeded` state and attempt are committed (the worker's
 *    `onRecorded` fires after the group commit, so this is durable, not merely sent). Measured
 *    over it: the CPU of this whole process (the engine: main thread, SQLite thread, GC threads),
 *    optionally the database server's, and the delivery rate over the first and the last tenth
 *    of the deliveries (a drain that slows down as it goes shows here).
 * 2. Latency: with the worker idle and listening, runs are finished at a steady rate; for each,
 *    the event creation time (the `now` the store writes as the event's `created_at`) is compared
 *    with the receiver's arrival time. A backlog's queueing time would say nothing about latency.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createWorker } from '../src/delivery/deliveryWorker.js';
import { closeRuntime, createLogger, openRuntime } from '../src/runtime.js';
import { generateApiKey, newApiKeyRecord } from '../src/security/apiKeys.js';
import type { Database } from '../src/store/schema.js';
import type { DeliveryResult } from '../src/store/store.js';
import {
  type BacklogOrg,
  type BacklogResult,
  type BulkTarget,
  buildBacklogBulk,
  buildBacklogThroughStore,
  createOneRun,
} from './backlog.js';
import { type PeakRss, processCpuUs, threadCpuUs, threadSplit } from './meter.js';
import type { Collected } from './receiver.js';

export interface ReceiverHandle {
  url: string;
  /** Begins a new period: counts and ids seen are forgotten. */
  start(opts: { keepArrivals: boolean }): void;
  /** What arrived since the last start or collect; `keepArrivals` for what arrives from now on. */
  collect(opts: { keepArrivals: boolean }): Promise<Collected>;
}

export type BacklogMode = { kind: 'bulk' } | { kind: 'store'; concurrency: number };

export interface EndToEndResult {
  label: string;
  runs: number;
  backlog: BacklogResult & { mode: BacklogMode };
  seconds: number;
  rps: number;
  /** Deliveries per second over each tenth of the backlog's deliveries, in order. */
  tenthsRps: number[];
  /** The first and the last of those. */
  firstTenthRps: number;
  lastTenthRps: number;
  /** CPU of this process (every thread) over the throughput phase, per delivery, µs. */
  cpuUsPerDelivery: number;
  /** The same, split: main thread, busiest other thread (SQLite's), all other threads. */
  cpuSplit: { main: number; busiest: number; rest: number };
  /** CPU of the database server's backends over the throughput phase, per delivery, µs. */
  backendCpuUsPerDelivery: number | null;
  /** Peak RSS of this process from the backlog's creation to the end of the latency phase, MB. */
  rssMaxMb: number;
  succeeded: number;
  attemptsLogged: number;
  received: number;
  duplicates: number;
  latencyEvents: number;
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Latency from the store's answer after the event's COMMIT to receipt. */
  commitP50Ms: number;
  commitP99Ms: number;
}

export const BENCH_SECRET_KEY = 'bench-secret-key-bench-secret-key-0123456789';

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * Deliveries per second over each tenth of `total`, from the drain's progress samples (time,
 * count; counts never decrease). Tenth k runs from the last sample at or below k/10 of the total to
 * the first sample at or above (k+1)/10: a group commit that records many at once still gives
 * every tenth an interval.
 */
export function rateByTenth(at: readonly number[], count: readonly number[], total: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < 10; k++) {
    const from = (total * k) / 10;
    const to = (total * (k + 1)) / 10;
    let i = 0;
    while (i + 1 < count.length && (count[i + 1] as number) <= from) i++;
    let j = i;
    while (j < count.length - 1 && (count[j] as number) < to) j++;
    const ms = (at[j] as number) - (at[i] as number);
    out.push(ms > 0 ? (((count[j] as number) - (count[i] as number)) / ms) * 1000 : Number.NaN);
  }
  return out;
}

export async function measureEndToEnd(input: {
  label: string;
  databaseUrl: string;
  receiver: ReceiverHandle;
  runs: number;
  /**
   * Runs delivered by a worker of their own before the measured backlog is built (0: none): the
   * measured drain then runs on warm code, as the raw client's requests do after its warm-up
   * (bench/README.md). Not counted in any figure.
   */
  warmupRuns: number;
  organizations: number;
  agentsPerOrganization: number;
  /** Runs finished per second during the latency phase, and for how long. */
  latencyRate: number;
  latencySeconds: number;
  logLevel: string;
  backlog: BacklogMode;
  /** A connection of the bench's own to the database (reads the bulk backlog's reference runs back); closed by the caller. */
  bulkDb: Kysely<Database>;
  /** Where the bulk backlog's process connects. */
  bulkTarget: BulkTarget;
  rss: PeakRss;
  /** Counts the durable outcome (deliveries succeeded, attempts rows) straight from the database. */
  countLogged(): Promise<{ succeeded: number; attempts: number }>;
  /** Runs once the backlog exists, before the worker starts (PostgreSQL: ANALYZE). */
  afterBacklog?: () => Promise<void>;
  /** The database server's CPU over the throughput phase, µs (PostgreSQL's backends). */
  serverCpu?: { start(): Promise<void>; stop(): Promise<number> };
}): Promise<EndToEndResult> {
  input.rss.startPhase();
  const config = loadConfig({
    RUNHOOK_DATABASE_URL: input.databaseUrl,
    RUNHOOK_SECRET_KEY: BENCH_SECRET_KEY,
    RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
    RUNHOOK_LOG_LEVEL: input.logLevel,
    RUNHOOK_PUBLIC_URL: 'http://runhook.bench',
  });
  // Logs are formatted as in production, then thrown away: the cost is measured, the noise is not.
  const logger = createLogger(config, pino.destination({ dest: '/dev/null', sync: false }));
  const rt = await openRuntime(config, logger);
  const { store } = rt;

  const now0 = Date.now();
  const orgs: BacklogOrg[] = [];
  for (let o = 0; o < input.organizations; o++) {
    const org = await store.createOrganization(
      `bench ${o}`,
      newApiKeyRecord(generateApiKey(), 'bench', null),
      now0,
    );
    const agents: BacklogOrg['agents'] = [];
    for (let a = 0; a < input.agentsPerOrganization; a++) {
      const name = `agent ${a}`;
      const agent = await store.createAgent(
        org.id,
        { name, description: '', provider: null, isActive: true },
        now0,
      );
      const webhook = await store.createWebhook(
        org.id,
        {
          agentId: agent.id,
          url: `${input.receiver.url}/o${o}a${a}`,
          description: 'bench',
          isEnabled: true,
          format: 'standard',
          headers: {},
          // Signed, as most receivers want it: the two HMACs are part of every attempt.
          secretEnc: rt.secretBox.seal(`whsec_${randomBytes(24).toString('base64')}`),
        },
        now0,
      );
      agents.push({ id: agent.id, name, webhookId: webhook.id });
    }
    orgs.push({ id: org.id, agents });
  }

  const buildBacklog = (n: number) =>
    input.backlog.kind === 'bulk'
      ? buildBacklogBulk({
          store,
          db: input.bulkDb,
          target: input.bulkTarget,
          orgs,
          runs: n,
          publicUrl: config.publicUrl,
        })
      : buildBacklogThroughStore({
          store,
          orgs,
          runs: n,
          publicUrl: config.publicUrl,
          concurrency: input.backlog.concurrency,
        });
  const newWorker = (onRecorded: (results: readonly DeliveryResult[]) => void) =>
    createWorker({
      store,
      send: rt.send,
      settings: config,
      logger: logger.child({ component: 'worker' }),
      onRecorded,
      // As `runhook serve`'s own worker (src/cli/serve.ts). The drain's slots are all taken, so it
      // never leases ahead there (docs/architecture.md#leasing-ahead).
      leaseAhead: true,
    });

  let succeeded = 0;
  let target = 0;
  let reached: (() => void) | null = null;
  // The drain's progress: (time, deliveries recorded) at each group commit, while draining.
  const progressAt: number[] = [];
  const progressCount: number[] = [];
  let draining = false;
  const onRecorded = (results: readonly DeliveryResult[]) => {
    for (const r of results) if (r.outcome.kind === 'delivered') succeeded++;
    if (draining) {
      progressAt.push(performance.now());
      progressCount.push(succeeded);
    }
    if (succeeded >= target && reached) reached();
  };
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      reached = resolve;
      if (succeeded >= n) resolve();
    });

  // Warm-up: the same code paths (claims, sends, group commits) on a backlog of their own, with a
  // worker that is stopped before the measured backlog exists. Its deliveries and attempts are
  // subtracted from the durable counts below.
  let warmLogged = { succeeded: 0, attempts: 0 };
  if (input.warmupRuns > 0) {
    const warm = await buildBacklog(input.warmupRuns);
    const warmWorker = newWorker(onRecorded);
    warmWorker.start();
    await until(warm.runs);
    await warmWorker.stop();
    warmLogged = await input.countLogged();
    succeeded = 0;
  }

  const backlog = await buildBacklog(input.runs);
  const runs = backlog.runs;
  await input.afterBacklog?.();
  input.receiver.start({ keepArrivals: false });

  const worker = newWorker(onRecorded);

  // Phase 1: drain the backlog (CPU-profiled into BENCH_CPU_PROFILE, a folder, when set).
  const profiler = process.env.BENCH_CPU_PROFILE ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  await input.serverCpu?.start();
  const threads0 = threadCpuUs();
  const cpu0 = processCpuUs();
  const t0 = performance.now();
  draining = true;
  progressAt.push(t0);
  progressCount.push(succeeded);
  const drained = until(runs);
  worker.start();
  await drained;
  const t1 = performance.now();
  draining = false;
  const cpuUs = processCpuUs() - cpu0;
  const cpuSplit = threadSplit(threads0, threadCpuUs());
  const serverCpuUs = input.serverCpu ? await input.serverCpu.stop() : null;
  const seconds = (t1 - t0) / 1000;
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    const file = join(
      process.env.BENCH_CPU_PROFILE as string,
      `${input.label.replace(/\W+/g, '-')}.cpuprofile`,
    );
    writeFileSync(file, JSON.stringify(profile));
    profiler.disconnect();
  }
  const backlogArrivals = await input.receiver.collect({ keepArrivals: true });
  const tenthsRps = rateByTenth(progressAt, progressCount, runs);

  // Phase 2: steady arrivals, one tick every 10 ms.
  const created = new Map<string, { createdAt: number; committedAt: number }>();
  const latencyEvents = Math.round(input.latencyRate * input.latencySeconds);
  const perTick = input.latencyRate / 100;
  const start = Date.now();
  let made = 0;
  let o = 0;
  const pending: Promise<unknown>[] = [];
  const producers = orgs.map((org) => ({ ...org, next: 0 }));
  while (made < latencyEvents) {
    const due = Math.min(latencyEvents, Math.floor(((Date.now() - start) / 10 + 1) * perTick));
    while (made < due) {
      made++;
      const org = producers[o++ % producers.length] as (typeof producers)[number];
      pending.push(createOneRun(store, org, config.publicUrl).then((r) => created.set(r.id, r)));
    }
    await new Promise((r) => setTimeout(r, 10 - ((Date.now() - start) % 10)));
  }
  await Promise.all(pending);
  await until(runs + latencyEvents);
  const latencyArrivals = await input.receiver.collect({ keepArrivals: false });

  await worker.stop();
  const counted = await input.countLogged();
  const logged = {
    succeeded: counted.succeeded - warmLogged.succeeded,
    attempts: counted.attempts - warmLogged.attempts,
  };
  await closeRuntime(rt);

  const latencies = latencyArrivals.arrivals
    .map((a) => a.at - (created.get(a.runId)?.createdAt ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  // From the store's answer (just after the COMMIT) to receipt: what the engine adds once an event
  // is durable, without the time the run waited to be stored (the org's run-number lock, the pool).
  // A delivery can arrive before that answer is read: such a latency counts as 0.
  const commitLatencies = latencyArrivals.arrivals
    .map((a) => Math.max(0, a.at - (created.get(a.runId)?.committedAt ?? Number.NaN)))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);

  return {
    label: input.label,
    runs,
    backlog: { ...backlog, mode: input.backlog },
    seconds,
    rps: runs / seconds,
    tenthsRps,
    firstTenthRps: tenthsRps[0] ?? Number.NaN,
    lastTenthRps: tenthsRps[9] ?? Number.NaN,
    cpuUsPerDelivery: cpuUs / runs,
    cpuSplit: {
      main: cpuSplit.main / runs,
      busiest: cpuSplit.busiest / runs,
      rest: cpuSplit.rest / runs,
    },
    backendCpuUsPerDelivery: serverCpuUs === null ? null : serverCpuUs / runs,
    rssMaxMb: input.rss.phaseMb(),
    succeeded: logged.succeeded,
    attemptsLogged: logged.attempts,
    received: backlogArrivals.count + latencyArrivals.count,
    duplicates: backlogArrivals.duplicates + latencyArrivals.duplicates,
    latencyEvents,
    latencyRate: input.latencyRate,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    commitP50Ms: percentile(commitLatencies, 0.5),
    commitP99Ms: percentile(commitLatencies, 0.99),
  };
}
