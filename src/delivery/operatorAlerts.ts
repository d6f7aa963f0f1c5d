import type { Logger } from 'pino';
import { alertBody } from '../domain/alertPayload.js';
import type { DeliveryOutcome } from '../domain/types.js';
import type { ClaimedAlert } from '../store/store.js';
import type { HealthMonitorDeps } from './healthMonitor.js';

const ALERT_LEASE_MS = 60_000;

export interface OperatorAlertDeps extends Pick<HealthMonitorDeps, 'store' | 'send' | 'config' | 'events'> {
  logger: Logger;
  now: () => number;
}

export interface OperatorAlerts {
  /** Sends the alerts due now (nothing without RUNHOOK_ALERT_URL). */
  sendDue(): Promise<void>;
}

/**
 * An alert's state after one send, read from the send pipeline's outcome: alerts keep their own
 * rows (no delivery, no attempt log), but what an answer means is decided there, as for deliveries.
 */
function alertStatus(outcome: DeliveryOutcome): 'sent' | 'pending' | 'failed' {
  if (outcome.kind === 'delivered') return 'sent';
  return outcome.kind === 'retry' ? 'pending' : 'failed';
}

/**
 * Operator alerts (docs/configuration.md#runhook_alert_url): the queued ones are sent to
 * RUNHOOK_ALERT_URL through the process's send pipeline (signed as a `standard` delivery, not
 * subject to the SSRF rules), and retried on the retry schedule.
 */
export function createOperatorAlerts(deps: OperatorAlertDeps): OperatorAlerts {
  const { store, send, config, logger, now } = deps;

  async function sendAlert(alert: ClaimedAlert, url: string): Promise<void> {
    const { sent, outcome, finishedAt } = await send.alert({
      url,
      eventId: alert.id,
      body: alertBody(config.alerts.format, alert),
      secret: config.alerts.secret,
      retriesDone: alert.attemptCount,
    });
    const status = alertStatus(outcome);
    await store.recordAlertAttempt({
      id: alert.id,
      status,
      nextAttemptAt: outcome.kind === 'retry' ? outcome.at : null,
      httpStatus: sent.httpStatus,
      error: sent.errorClass === null ? null : `${sent.errorClass}: ${sent.errorMessage ?? ''}`,
      now: finishedAt,
    });
    const level = status === 'sent' ? 'info' : 'warn';
    logger[level](
      {
        alert_id: alert.id,
        event: alert.event,
        webhook_id: alert.webhook.id,
        suppressed: alert.suppressed,
        http_status: sent.httpStatus,
        status,
      },
      'operator alert attempt',
    );
    deps.events?.onAlertSent?.(alert.event, status === 'pending' ? 'retrying' : status);
  }

  async function sendDue(): Promise<void> {
    const url = config.alerts.url;
    if (url === null) return;
    const claimed = await store.claimDueAlerts({
      now: now(),
      limit: 20,
      leaseMs: ALERT_LEASE_MS,
      intervalMs: config.alerts.intervalMs,
    });
    await Promise.all(claimed.map((a) => sendAlert(a, url)));
  }

  return { sendDue };
}
