/**
 * The background side of endpoint health (docs/receiving-webhooks.md, "When your endpoint
 * fails"), run next to the delivery worker:
 *
 * - after each batch of recorded attempts, reconciles the webhooks involved (auto-disable, one
 *   alert per change of health), and every few seconds all webhooks that are not plainly healthy
 *   (which also catches a change whose process died before reconciling it);
 * - queues probes of webhooks the system turned off when they are due; the worker sends them like
 *   any delivery (trigger `probe`);
 * - sends queued operator alerts to RUNHOOK_ALERT_URL, retried on the retry schedule.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { alertBody } from '../domain/alertPayload.js';
import { classifyAttempt } from '../domain/classifyOutcome.js';
import type { AlertEvent } from '../domain/health.js';
import { parseCidrList } from '../domain/ipRules.js';
import { renderBody, testPayload } from '../domain/payloads.js';
import { nextStep } from '../domain/retrySchedule.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { SecretBox } from '../security/secretBox.js';
import type { ClaimedAlert, ClaimedDelivery, DeliveryResult, HealthChange, Store } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import { attemptDelivery } from './attempt.js';
import { createHttpSender, type HttpSender } from './httpClient.js';

export interface HealthMonitorDeps {
  store: Store;
  sender: HttpSender;
  secretBox: SecretBox;
  /** Called with the probes' results once recorded, like the worker's own (metrics). */
  onRecorded?: (results: readonly DeliveryResult[]) => void;
  config: Pick<
    Config,
    'health' | 'alerts' | 'publicUrl' | 'retrySchedule' | 'retryJitter' | 'attemptTimeoutMs'
  >;
  logger: Logger;
  now?: () => number;
  random?: () => number;
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
const ALERT_LEASE_MS = 60_000;
const PROBE_LEASE_SLACK_MS = 10_000;

export function createHealthMonitor(deps: HealthMonitorDeps): HealthMonitor {
  const { store, config, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
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
  let alertSender: HttpSender | null = null;
  let chain: Promise<void> = Promise.resolve();

  async function reconcile(webhookIds: string[] | null): Promise<void> {
    const changes = await store.reconcileHealth({
      policy: config.health,
      now: now(),
      alerts: config.alerts.url !== null,
      webhookIds,
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

  /** One probe through the delivery pipeline (sign, send, classify, record), as Test Webhook does. */
  async function probe(claimed: ClaimedDelivery): Promise<void> {
    const recorded = await attemptDelivery(claimed, {
      sender: deps.sender,
      secretBox: deps.secretBox,
      timeoutMs: config.attemptTimeoutMs,
      retrySchedule: config.retrySchedule,
      retryJitter: config.retryJitter,
      now,
      random,
    });
    const delivered = recorded.outcome.kind === 'delivered';
    const t = recorded.finishedAt;
    const result = { httpStatus: recorded.attempt?.httpStatus ?? null };
    await store.recordResults([recorded]);
    deps.onRecorded?.([recorded]);
    const reenabled = delivered && (await store.reenableAfterProbe(claimed.webhookId, t));
    logger.info(
      {
        webhook_id: claimed.webhookId,
        delivery_id: claimed.deliveryId,
        http_status: result.httpStatus,
        reenabled,
      },
      reenabled ? 'probe answered 2xx: webhook re-enabled' : 'probe failed; the webhook stays disabled',
    );
    // Its health changed (or its failure count did): reconcile now rather than at the next pass.
    await reconcile([claimed.webhookId]);
  }

  async function probeDue(): Promise<void> {
    const t = now();
    const due = await store.dueProbes({
      now: t,
      firstDelayMs: config.health.probeSchedule[0] ?? 0,
      limit: 100,
    });
    const started: ClaimedDelivery[] = [];
    for (const p of due) {
      const payload = testPayload(t, config.publicUrl);
      const claimed = await store.startProbe({
        probe: p,
        payload: JSON.stringify(payload),
        body: renderBody(p.format, payload, t),
        now: t,
        schedule: config.health.probeSchedule,
        leaseMs: config.attemptTimeoutMs + PROBE_LEASE_SLACK_MS,
      });
      if (claimed) started.push(claimed);
    }
    await Promise.all(
      started.map((c) =>
        probe(c).catch((err) => logger.error({ err, webhook_id: c.webhookId }, 'probe crashed')),
      ),
    );
  }

  async function sendAlert(alert: ClaimedAlert, url: string, sender: HttpSender): Promise<void> {
    const body = alertBody(config.alerts.format, alert);
    const headers = buildDeliveryHeaders({
      format: 'standard',
      eventId: alert.id,
      timestampSec: Math.floor(now() / 1000),
      body,
      secret: config.alerts.secret,
      customHeaders: {},
      userAgent: USER_AGENT,
    });
    const result = await sender.send({ url, headers, body, timeoutMs: config.attemptTimeoutMs });
    const t = now();
    const step = nextStep({
      answer: classifyAttempt({
        format: 'standard',
        httpStatus: result.httpStatus,
        retryAfter: result.response?.headers['retry-after'] ?? null,
        now: t,
      }),
      schedule: config.retrySchedule,
      retriesDone: alert.attemptCount,
      now: t,
      jitter: config.retryJitter,
      random,
    });
    const status = step.kind === 'delivered' ? 'sent' : step.kind === 'retry' ? 'pending' : 'failed';
    await store.recordAlertAttempt({
      id: alert.id,
      status,
      nextAttemptAt: step.kind === 'retry' ? step.at : null,
      httpStatus: result.httpStatus,
      error: result.errorClass === null ? null : `${result.errorClass}: ${result.errorMessage ?? ''}`,
      now: t,
    });
    const level = status === 'sent' ? 'info' : 'warn';
    logger[level](
      {
        alert_id: alert.id,
        event: alert.event,
        webhook_id: alert.webhook.id,
        suppressed: alert.suppressed,
        http_status: result.httpStatus,
        status,
      },
      'operator alert attempt',
    );
    deps.events?.onAlertSent?.(alert.event, status === 'pending' ? 'retrying' : status);
  }

  async function sendAlerts(): Promise<void> {
    const url = config.alerts.url;
    if (url === null) return;
    // The operator's own URL: the SSRF rules that protect tenants' webhooks do not apply to it.
    alertSender ??= createHttpSender({ allowedCidrs: parseCidrList('0.0.0.0/0,::/0') });
    const claimed = await store.claimDueAlerts({
      now: now(),
      limit: 20,
      leaseMs: ALERT_LEASE_MS,
      intervalMs: config.alerts.intervalMs,
    });
    await Promise.all(claimed.map((a) => sendAlert(a, url, alertSender as HttpSender)));
  }

  async function tick(): Promise<void> {
    ticks += 1;
    const steps: Array<[string, () => Promise<void>]> = [
      ['probes', probeDue],
      ['alerts', sendAlerts],
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
      await alertSender?.close();
      alertSender = null;
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
      const gone = (r: DeliveryResult) => r.outcome.kind === 'failed' && r.outcome.reason === 'gone';
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
