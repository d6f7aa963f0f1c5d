import type { Logger } from 'pino';
import { alertBody } from '../domain/alertPayload.js';
import { classifyAttempt } from '../domain/classifyOutcome.js';
import { parseCidrList } from '../domain/ipRules.js';
import { nextStep } from '../domain/retrySchedule.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import type { ClaimedAlert } from '../store/store.js';
import { USER_AGENT } from '../version.js';
import type { HealthMonitorDeps } from './healthMonitor.js';
import { createHttpSender, type HttpSender } from './httpClient.js';

const ALERT_LEASE_MS = 60_000;

export interface OperatorAlertDeps extends Pick<HealthMonitorDeps, 'store' | 'config' | 'events'> {
  logger: Logger;
  now: () => number;
  random: () => number;
}

export interface OperatorAlerts {
  /** Sends the alerts due now (nothing without RUNHOOK_ALERT_URL). */
  sendDue(): Promise<void>;
  /** Closes the alert sender's connections. */
  close(): Promise<void>;
}

/**
 * Operator alerts (docs/operations.md): the queued ones are sent to RUNHOOK_ALERT_URL, signed as a
 * `standard` delivery, and retried on the retry schedule.
 */
export function createOperatorAlerts(deps: OperatorAlertDeps): OperatorAlerts {
  const { store, config, logger, now, random } = deps;
  let alertSender: HttpSender | null = null;

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

  async function sendDue(): Promise<void> {
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

  return {
    sendDue,
    async close() {
      await alertSender?.close();
      alertSender = null;
    },
  };
}
