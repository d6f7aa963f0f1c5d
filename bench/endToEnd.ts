/**
 * Runhook end to end on one database: finished runs created through the store (rendered by
 * domain/payloads.ts as in production), the real worker delivering them to the benchmark receiver, and the attempt log
 * checked afterwards.
 *
 * Two phases on the same database and worker:
 * 1. Throughput: `runs` finished runs are created first; the worker then starts and the clock runs
 *    until the last delivery's `succeeded` state and attempt are committed (the worker's
 *    `onRecorded` fires after the group commit, so this is durable, not merely sent).
 * 2. Latency: with the worker idle and listening, runs are finished at a steady rate; for each,
 *    the event creation time (the `now` the store writes as the event's `created_at`) is compared
 *    with the receiver's arrival time. A backlog's queueing time would say nothing about latency.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createWorker } from '../src/delivery/deliveryWorker.js';
import { closeRuntime, createLogger, openRuntime } from '../src/runtime.js';
import { generateApiKey, newApiKeyRecord } from '../src/security/apiKeys.js';
import type { DeliveryResult } from '../src/store/store.js';
import type { Arrival } from './receiver.js';

export interface ReceiverHandle {
  url: string;
  collect(): Promise<Arrival[]>;
}

export interface EndToEndResult {
  label: string;
  runs: number;
  createSeconds: number;
  createPerSecond: number;
  seconds: number;
  rps: number;
  succeeded: number;
  attemptsLogged: number;
  received: number;
  duplicates: number;
  latencyEvents: number;
  latencyRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export const BENCH_SECRET_KEY = 'bench-secret-key-bench-secret-key-0123456789';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

export async function measureEndToEnd(input: {
  label: string;
  databaseUrl: string;
  receiver: ReceiverHandle;
  runs: number;
  organizations: number;
  agentsPerOrganization: number;
  /** Runs finished per second during the latency phase, and for how long. */
  latencyRate: number;
  latencySeconds: number;
  logLevel: string;
  /** Counts the durable outcome (deliveries succeeded, attempts rows) straight from the database. */
  countLogged(): Promise<{ succeeded: number; attempts: number }>;
  /** Runs once the backlog exists, before the worker starts (PostgreSQL: ANALYZE). */
  afterBacklog?: () => Promise<void>;
}): Promise<EndToEndResult> {
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
  const orgs: Array<{ id: string; agents: string[]; next: number }> = [];
  for (let o = 0; o < input.organizations; o++) {
    const org = await store.createOrganization(
      `bench ${o}`,
      newApiKeyRecord(generateApiKey(), 'bench', null),
      now0,
    );
    const agents: string[] = [];
    for (let a = 0; a < input.agentsPerOrganization; a++) {
      const agent = await store.createAgent(
        org.id,
        { name: `agent ${a}`, description: '', provider: null, isActive: true },
        now0,
      );
      await store.createWebhook(
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
      agents.push(agent.id);
    }
    orgs.push({ id: org.id, agents, next: 0 });
  }

  /** Finishes one run of the org's next agent; returns its id and the event's creation time. */
  const finishOne = async (org: { id: string; agents: string[]; next: number }) => {
    const now = Date.now();
    // Each organization's runs go round its agents, so all 16 webhooks get the same share.
    const agentId = org.agents[org.next++ % org.agents.length] as string;
    const run = await store.createFinishedRun(
      org.id,
      { agentId, name: 'Emergency Response Test', totalScenarios: null, startedAt: now - 165_000 },
      {
        status: 'completed',
        passedCount: 17,
        failedCount: 3,
        errorCount: 0,
        totalScenarios: null,
        completedAt: now,
      },
      config.publicUrl,
      now,
    );
    return { id: run.id, createdAt: now };
  };

  // Runs of one organization are numbered under its row lock, so each org gets one producer.
  const c0 = performance.now();
  await Promise.all(
    orgs.map(async (org, o) => {
      const share = Math.floor(input.runs / orgs.length) + (o < input.runs % orgs.length ? 1 : 0);
      for (let i = 0; i < share; i++) await finishOne(org);
    }),
  );
  const createSeconds = (performance.now() - c0) / 1000;
  await input.afterBacklog?.();
  await input.receiver.collect();

  let succeeded = 0;
  let target = input.runs;
  let reached: (() => void) | null = null;
  const onRecorded = (results: readonly DeliveryResult[]) => {
    for (const r of results) if (r.outcome.kind === 'delivered') succeeded++;
    if (succeeded >= target && reached) reached();
  };
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      reached = resolve;
      if (succeeded >= n) resolve();
    });

  const worker = createWorker({
    store,
    sender: rt.sender,
    secretBox: rt.secretBox,
    settings: config,
    logger: logger.child({ component: 'worker' }),
    onRecorded,
  });

  // Phase 1: drain the backlog (CPU-profiled into BENCH_CPU_PROFILE, a folder, when set).
  const profiler = process.env.BENCH_CPU_PROFILE ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const t0 = performance.now();
  const drained = until(input.runs);
  worker.start();
  await drained;
  const seconds = (performance.now() - t0) / 1000;
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    const file = join(
      process.env.BENCH_CPU_PROFILE as string,
      `${input.label.replace(/\W+/g, '-')}.cpuprofile`,
    );
    writeFileSync(file, JSON.stringify(profile));
    profiler.disconnect();
  }
  const backlogArrivals = await input.receiver.collect();

  // Phase 2: steady arrivals, one tick every 10 ms.
  const created = new Map<string, number>();
  const latencyEvents = Math.round(input.latencyRate * input.latencySeconds);
  const perTick = input.latencyRate / 100;
  const start = Date.now();
  let made = 0;
  let o = 0;
  const pending: Promise<unknown>[] = [];
  while (made < latencyEvents) {
    const due = Math.min(latencyEvents, Math.floor(((Date.now() - start) / 10 + 1) * perTick));
    while (made < due) {
      made++;
      const org = orgs[o++ % orgs.length] as (typeof orgs)[number];
      pending.push(finishOne(org).then((r) => created.set(r.id, r.createdAt)));
    }
    await new Promise((r) => setTimeout(r, 10 - ((Date.now() - start) % 10)));
  }
  await Promise.all(pending);
  await until(input.runs + latencyEvents);
  const latencyArrivals = await input.receiver.collect();

  await worker.stop();
  const logged = await input.countLogged();
  await closeRuntime(rt);

  const all = backlogArrivals.concat(latencyArrivals);
  const seen = new Set(all.map((a) => a.webhookId));
  const latencies = latencyArrivals
    .map((a) => a.at - (created.get(a.runId) ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);

  return {
    label: input.label,
    runs: input.runs,
    createSeconds,
    createPerSecond: input.runs / createSeconds,
    seconds,
    rps: input.runs / seconds,
    succeeded: logged.succeeded,
    attemptsLogged: logged.attempts,
    received: all.length,
    duplicates: all.length - seen.size,
    latencyEvents,
    latencyRate: input.latencyRate,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
}
