/**
 * Prometheus metrics at /metrics (prom-client, in a registry of their own, not the global one).
 *
 * - Deliveries and attempts are counted from what the worker of this process has durably
 *   recorded (recordResults). Test Webhook sends are not counted: they answer the caller
 *   directly and are not part of the delivery pipeline.
 * - Pending deliveries and queue lag are read from the database at scrape time, so every process
 *   reports the same, global value.
 * - Events are counted where this process's API finishes a run.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AlertEvent } from '../domain/health.js';
import { DISABLED_REASONS, FINAL_RUN_STATUSES } from '../domain/types.js';
import type { SweepTotals } from '../retention/sweeper.js';
import type { DeliveryResult, Store } from '../store/store.js';
import { ApiError } from './errors.js';
import { REPLAYED_HEADER } from './idempotency.js';

export interface Metrics {
  readonly registry: Registry;
  /** Counts a batch of delivery results once the worker has written them. */
  recordResults(results: readonly DeliveryResult[]): void;
  /** Counts one event (a run that reached a final status). */
  eventCreated(): void;
  /** Counts what a retention sweep of this process deleted. */
  recordSweep(totals: SweepTotals, at: number): void;
  /** Counts one attempt to send an operator alert (docs/configuration.md#runhook_alert_url). */
  alertAttempt(event: AlertEvent, outcome: 'sent' | 'retrying' | 'failed'): void;
  /** Counts failed deliveries queued again by POST /webhooks/{id}/recover. */
  deliveriesRecovered(count: number): void;
}

export interface MetricsDeps {
  store: Pick<Store, 'countPending' | 'storeStats' | 'countDisabledWebhooks'>;
  now?: () => number;
  /** Node.js process metrics (CPU, memory, event loop, GC); on by default. */
  processMetrics?: boolean;
}

/** Attempt latency buckets in seconds: from a fast receiver up to the longest allowed timeout (5 min). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 300];

function statusClass(httpStatus: number | null): string {
  return httpStatus === null ? 'none' : `${Math.floor(httpStatus / 100)}xx`;
}

function outcomeOf(result: DeliveryResult): 'succeeded' | 'failed' | 'retrying' {
  const { kind } = result.outcome;
  return kind === 'delivered' ? 'succeeded' : kind === 'retry' ? 'retrying' : 'failed';
}

/**
 * The gauges read from the database at scrape time, so every process reports the same, global
 * value: pending deliveries and queue lag, store size and backlog age, disabled webhooks.
 */
function registerDatabaseGauges(registry: Registry, store: MetricsDeps['store'], now: () => number): void {
  // Both gauges come from one query per scrape: prom-client collects them concurrently.
  let snapshot: Promise<{ pending: number; oldestDueAt: number | null; at: number }> | null = null;
  const readPending = () => {
    if (!snapshot) {
      const at = now();
      snapshot = store
        .countPending(at)
        .then((p) => ({ ...p, at }))
        .finally(() => {
          snapshot = null;
        });
    }
    return snapshot;
  };
  new Gauge({
    name: 'runhook_deliveries_pending',
    help: 'Deliveries not finished yet (waiting, in flight or scheduled for a retry), in the whole database.',
    registers: [registry],
    async collect() {
      this.set((await readPending()).pending);
    },
  });
  new Gauge({
    name: 'runhook_queue_lag_seconds',
    help: 'How long the oldest due delivery has been waiting for an attempt (0 when none is due), in the whole database.',
    registers: [registry],
    async collect() {
      const { oldestDueAt, at } = await readPending();
      this.set(oldestDueAt === null ? 0 : Math.max(0, at - oldestDueAt) / 1000);
    },
  });

  // Store size and backlog age: one query pair per scrape, shared by both gauges.
  let stats: Promise<{ sizeBytes: number; oldestPendingCreatedAt: number | null; at: number }> | null = null;
  const readStats = () => {
    if (!stats) {
      const at = now();
      stats = store
        .storeStats()
        .then((s) => ({ ...s, at }))
        .finally(() => {
          stats = null;
        });
    }
    return stats;
  };
  new Gauge({
    name: 'runhook_store_size_bytes',
    help: 'Size of the database: the SQLite file (pages in use and free), or the PostgreSQL tables with their indexes.',
    registers: [registry],
    async collect() {
      this.set((await readStats()).sizeBytes);
    },
  });
  new Gauge({
    name: 'runhook_backlog_age_seconds',
    help: 'Age of the oldest delivery still pending (since its event), in the whole database; 0 when none is.',
    registers: [registry],
    async collect() {
      const { oldestPendingCreatedAt, at } = await readStats();
      this.set(oldestPendingCreatedAt === null ? 0 : Math.max(0, at - oldestPendingCreatedAt) / 1000);
    },
  });
  // Endpoint health (docs/receiving-webhooks.md, "When your endpoint fails").
  new Gauge({
    name: 'runhook_webhooks_disabled',
    help: 'Webhooks turned off, by reason (manual, gone, failing), in the whole database.',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      const counts = await store.countDisabledWebhooks();
      for (const reason of DISABLED_REASONS) this.set({ reason }, counts[reason] ?? 0);
    },
  });
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  const now = deps.now ?? Date.now;
  if (deps.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const deliveries = new Counter({
    name: 'runhook_deliveries_total',
    help: 'Delivery results recorded by this process: succeeded, failed (gave up, or webhook gone), retrying (another attempt scheduled).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'runhook_attempts_total',
    help: 'HTTP attempts recorded by this process, by status class (none = no answer) and error class (none = delivered).',
    labelNames: ['status_class', 'error_class'],
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'runhook_attempt_duration_seconds',
    help: 'Time from sending an attempt to its answer, timeout or error.',
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const events = new Counter({
    name: 'runhook_events_created_total',
    help: 'Events created by this process: test runs that reached completed, failed or canceled (replayed Idempotency-Key answers are not counted).',
    registers: [registry],
  });
  // Make the counters visible at 0 before anything happens, so rate() and absent() behave.
  for (const outcome of ['succeeded', 'failed', 'retrying']) deliveries.inc({ outcome }, 0);

  registerDatabaseGauges(registry, deps.store, now);

  const pruned = new Counter({
    name: 'runhook_retention_deleted_rows_total',
    help: 'Rows the retention sweeper of this process deleted, by table (deliveries, attempts, events, alerts).',
    labelNames: ['table'],
    registers: [registry],
  });
  for (const table of ['deliveries', 'attempts', 'events', 'alerts']) pruned.inc({ table }, 0);
  const lastSweep = new Gauge({
    name: 'runhook_retention_last_sweep_timestamp_seconds',
    help: 'When the retention sweeper of this process last finished a sweep (Unix seconds); 0 before the first.',
    registers: [registry],
  });
  lastSweep.set(0);

  const probes = new Counter({
    name: 'runhook_probes_total',
    help: 'Probes of disabled webhooks sent by this process, by outcome (succeeded: the webhook is back on; failed).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'runhook_alerts_total',
    help: 'Operator alert attempts made by this process, by event and outcome (sent, retrying, failed).',
    labelNames: ['event', 'outcome'],
    registers: [registry],
  });
  const recovered = new Counter({
    name: 'runhook_deliveries_recovered_total',
    help: 'Failed deliveries queued again by recover through this process’s API.',
    registers: [registry],
  });
  for (const outcome of ['succeeded', 'failed']) probes.inc({ outcome }, 0);
  recovered.inc(0);

  return {
    alertAttempt(event, outcome) {
      alerts.inc({ event, outcome });
    },
    deliveriesRecovered(count) {
      recovered.inc(count);
    },
    registry,
    recordSweep(totals, at) {
      pruned.inc({ table: 'deliveries' }, totals.deliveries);
      pruned.inc({ table: 'attempts' }, totals.attempts);
      pruned.inc({ table: 'events' }, totals.events);
      pruned.inc({ table: 'alerts' }, totals.alerts);
      lastSweep.set(at / 1000);
    },
    recordResults(results) {
      for (const r of results) {
        deliveries.inc({ outcome: outcomeOf(r) });
        if (!r.attempt) continue;
        if (r.trigger === 'probe')
          probes.inc({ outcome: r.outcome.kind === 'delivered' ? 'succeeded' : 'failed' });
        attempts.inc({
          status_class: statusClass(r.attempt.httpStatus),
          error_class: r.attempt.errorClass ?? 'none',
        });
        if (r.attempt.responseTimeMs !== null) attemptDuration.observe(r.attempt.responseTimeMs / 1000);
      }
    },
    eventCreated() {
      events.inc();
    },
  };
}

/** Routes whose success means "one event was created" (one per run that ends: docs/delivery.md#one-event-per-run). */
const FINISHING_ROUTES: Record<string, number> = {
  '/api/v1/runs/:id/complete': 200,
  '/api/v1/runs/:id/cancel': 200,
  '/api/v1/runs': 201,
};
const FINAL = new Set<string>(FINAL_RUN_STATUSES);

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The plugin for buildApp's `plugins`: GET /metrics (behind `Authorization: Bearer <token>` when
 * RUNHOOK_METRICS_TOKEN is set) and the hook that counts events.
 */
export function metricsPlugin(
  metrics: Metrics,
  options: { token: string | null; logger?: Logger },
): (app: FastifyInstance) => void {
  return (app) => {
    app.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'POST') return;
      const expected = FINISHING_ROUTES[request.routeOptions.url ?? ''];
      if (expected === undefined || reply.statusCode !== expected) return;
      // A replayed Idempotency-Key answer created nothing (docs/api.md#idempotency).
      if (String(reply.getHeader(REPLAYED_HEADER) ?? '') === 'true') return;
      // POST /runs creates a finished run (and its event) only when given a final status.
      if (request.routeOptions.url === '/api/v1/runs') {
        const status = (request.body as { status?: unknown } | undefined)?.status;
        if (typeof status !== 'string' || !FINAL.has(status)) return;
      }
      metrics.eventCreated();
    });

    app.addHook('onSend', async (request, reply, payload) => {
      if (request.routeOptions.url !== '/api/v1/webhooks/:id/recover' || reply.statusCode !== 202)
        return payload;
      try {
        const answer = JSON.parse(String(payload)) as { count?: unknown; dry_run?: unknown };
        if (answer.dry_run === false && typeof answer.count === 'number')
          metrics.deliveriesRecovered(answer.count);
      } catch {
        // Not the answer we wrote: nothing to count.
      }
      return payload;
    });

    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (options.token !== null) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
        if (!match?.[1] || !sameSecret(match[1], options.token)) {
          throw new ApiError(
            'UNAUTHORIZED',
            'send the metrics token as "Authorization: Bearer <RUNHOOK_METRICS_TOKEN>"',
          );
        }
      }
      let text: string;
      try {
        text = await metrics.registry.metrics();
      } catch (err) {
        // The gauges read the database: without it, say so instead of showing stale numbers.
        (options.logger ?? request.log).warn({ err }, 'metrics scrape failed');
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('# runhook: the database is not reachable; no metrics this scrape\n');
      }
      return reply.type(metrics.registry.contentType).send(text);
    });
  };
}
