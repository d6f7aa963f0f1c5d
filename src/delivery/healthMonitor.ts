/**
 * The background side of endpoint health (docs/receiving-webhooks.md, "When your endpoint
 * fails"), run next to the delivery worker (workerWithHealth.ts) but not by it:
 *
 * - after each batch of recorded attempts, reconciles the webhooks involved (auto-disable, one
 *   alert per change of health), and every few seconds all webhooks that are not plainly healthy
 *   (which also catches a change whose process died before reconciling it);
 * - takes the probes of webhooks the system turned off when they are due and sends them itself
 *   (the worker's loop never sees them unless a probe's sender died: healthProbes.ts), through the
 *   process's send pipeline like any delivery (trigger `probe`);
 * - sends queued operator alerts to RUNHOOK_ALERT_URL through the same send pipeline, retried on
 *   the retry schedule (operatorAlerts.ts).
 */
import type { Logger } from 'pino';
import { isGone } from '../domain/classifyOutcome.js';
import type { AlertEvent, HealthPolicy } from '../domain/health.js';
import type { DeliveryResult, HealthChange, Store } from '../store/store.js';
import { createProbes } from './healthProbes.js';
import { createOperatorAlerts } from './operatorAlerts.js';
import type { SendPipeline } from './sendPipeline.js';

/** The configuration the monitor reads (the fields of the same name in config.ts, passed in). */
export interface HealthMonitorSettings {
  health: HealthPolicy;
  /** Where operator alerts go (RUNHOOK_ALERT_*); `url: null` sends none. */
  alerts: { url: string | null; secret: string | null; format: 'standard' | 'slack'; intervalMs: number };
  publicUrl: string;
  /** Its first delay sets how often alert retries are looked for (sending is the send pipeline's). */
  retrySchedule: number[];
  /** A probe's lease outlasts it. */
  attemptTimeoutMs: number;
}

export interface HealthMonitorDeps {
  store: Store;
  /** The process's one send path (runtime.ts): probes and operator alerts go through it. */
  send: SendPipeline;
  /** Called with the probes' results once recorded, like the worker's own (metrics). */
  onRecorded?: (results: readonly DeliveryResult[]) => void;
  config: HealthMonitorSettings;
  logger: Logger;
  now?: () => number;
  /** How often probes, alerts and the full reconcile pass are looked at. */
  tickMs?: number;
  /** Counts what happened, for /metrics. */
  events?: {
    onHealthChange?(change: HealthChange): void;
    onAlertSent?(event: AlertEvent, outcome: 'sent' | 'retrying' | 'failed'): void;
  };
}

export interface HealthMonitor {
  start(): void;
  stop(): Promise<void>;
  /** Called with each batch the worker has durably recorded. */
  afterRecorded(results: readonly DeliveryResult[]): void;
}

const DEFAULT_TICK_MS = 1_000;
const MIN_TICK_MS = 20;
/** Every this many ticks, every webhook that is not plainly healthy is reconciled. */
const FULL_PASS_EVERY = 5;

export function createHealthMonitor(deps: HealthMonitorDeps): HealthMonitor {
  const { store, config, logger } = deps;
  const now = deps.now ?? Date.now;
  // Look at least as often as the shortest delay to honour (a probe, an alert retry), at most each
  // second. Alert retries only where alerts are sent: without RUNHOOK_ALERT_URL a short retry
  // schedule would otherwise have an idle worker read the database many times a second for nothing.
  const tickMs =
    deps.tickMs ??
    Math.max(
      MIN_TICK_MS,
      Math.min(
        DEFAULT_TICK_MS,
        config.health.probeSchedule[0] ?? DEFAULT_TICK_MS,
        config.alerts.url === null ? DEFAULT_TICK_MS : (config.retrySchedule[0] ?? DEFAULT_TICK_MS),
      ),
    );
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let ticks = 0;
  let stopped = false;
  /** Webhooks seen failing here, reconciled after each batch that touches them until healthy again. */
  const watched = new Set<string>();
  let chain: Promise<void> = Promise.resolve();

  async function reconcile(webhookIds: string[] | null): Promise<void> {
    const changes = await store.reconcileHealth({
      policy: config.health,
      now: now(),
      alerts: config.alerts.url !== null,
      webhookIds,
      tenantEvents: { publicUrl: config.publicUrl, intervalMs: config.alerts.intervalMs },
    });
    for (const change of changes) {
      logger.info(
        {
          webhook_id: change.webhookId,
          org_id: change.orgId,
          disabled: change.disabled,
          alert: change.alert?.event ?? null,
          reason: change.alert?.reason ?? null,
        },
        change.disabled ? 'webhook disabled: failing for too long' : 'webhook health changed',
      );
      deps.events?.onHealthChange?.(change);
    }
  }

  const probeDue = createProbes({ ...deps, logger, now, reconcile });
  const alerts = createOperatorAlerts({ ...deps, logger, now });

  async function tick(): Promise<void> {
    ticks += 1;
    const steps: Array<[string, () => Promise<void>]> = [
      ['probes', probeDue],
      ['alerts', alerts.sendDue],
    ];
    if (ticks % FULL_PASS_EVERY === 1) steps.unshift(['health', () => reconcile(null)]);
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        logger.error({ err }, `endpoint health: ${what} step failed; trying again next time`);
      }
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = null;
        schedule();
      });
    }, tickMs);
    timer.unref();
  }

  return {
    start() {
      stopped = false;
      running = tick().finally(() => {
        running = null;
        schedule();
      });
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await chain;
    },
    afterRecorded(results) {
      const ids = new Set<string>();
      for (const r of results) {
        if (!r.attempt) continue;
        const ok = r.outcome.kind === 'delivered';
        if (!ok) watched.add(r.webhookId);
        if (watched.has(r.webhookId)) ids.add(r.webhookId);
        if (ok && r.trigger !== 'probe') watched.delete(r.webhookId);
      }
      const gone = (r: DeliveryResult) => isGone(r.outcome);
      // One pass after another, in the order the batches were recorded.
      chain = chain
        .then(async () => {
          if (ids.size > 0 || results.some(gone)) {
            for (const r of results) if (gone(r)) ids.add(r.webhookId);
            await reconcile([...ids]);
          }
        })
        .catch((err) =>
          logger.error({ err }, 'endpoint health: after-batch pass failed; the next full pass repeats it'),
        );
    },
  };
}
