import type { AlertEvent } from '../domain/health.js';
import type { Metrics } from '../http/metrics.js';
import type { SweepTotals } from '../retention/sweeper.js';
import type { DeliveryResult } from '../store/store.js';

/**
 * This process's metrics. Created with the HTTP server (`serve`); a process that runs only
 * `runhook worker` has no /metrics to show them on, so there it stays null and counts nothing.
 */
let processMetrics: Metrics | null = null;

/** Set by `runhook serve` as it builds its HTTP server (src/cli/plugins.ts). */
export function setProcessMetrics(metrics: Metrics): void {
  processMetrics = metrics;
}

/** The worker's `onRecorded`: counts deliveries and attempts once they are durably written. */
export function recordWorkerResults(results: readonly DeliveryResult[]): void {
  processMetrics?.recordResults(results);
}

/** The retention sweeper's `onSwept`: rows deleted and when the last sweep ran. */
export function recordSweep(totals: SweepTotals, at: number): void {
  processMetrics?.recordSweep(totals, at);
}

/** The health monitor's events: operator alerts sent. */
export const healthMetrics = {
  onAlertSent(event: AlertEvent, outcome: 'sent' | 'retrying' | 'failed'): void {
    processMetrics?.alertAttempt(event, outcome);
  },
};
