import type { FastifyInstance } from 'fastify';
import type { AlertEvent } from '../domain/health.js';
import { createMetrics, type Metrics, metricsPlugin } from '../http/metrics.js';
import { openApiPlugin } from '../http/openapi.js';
import type { SweepTotals } from '../retention/sweeper.js';
import type { Runtime } from '../runtime.js';
import type { DeliveryResult } from '../store/store.js';

/**
 * This process's metrics. Created with the HTTP server (`serve`); a process that runs only
 * `runhook worker` has no /metrics to show them on, so there it stays null and counts nothing.
 */
let processMetrics: Metrics | null = null;

/** OpenAPI (/openapi.json, /docs) and Prometheus (/metrics) for `runhook serve`. */
export function extraPlugins(rt: Runtime): Array<(app: FastifyInstance) => Promise<void> | void> {
  processMetrics = createMetrics({ store: rt.store });
  return [
    openApiPlugin({ publicUrl: rt.config.publicUrl }),
    metricsPlugin(processMetrics, { token: rt.config.metricsToken, logger: rt.logger }),
  ];
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
