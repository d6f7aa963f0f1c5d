/**
 * What a `runhook worker` process runs, and `runhook serve` beside its HTTP server: the delivery
 * worker, the retention sweeper, the run-group sweep and the clean stop. Nothing here loads
 * Fastify: a worker process never serves HTTP.
 */
import type { Worker } from '../delivery/deliveryWorker.js';
import { createGroupSweep, type GroupSweep } from '../delivery/groupSweep.js';
import { createWorkerWithHealth } from '../delivery/workerWithHealth.js';
import { createRetentionSweeper, type RetentionSweeper } from '../retention/sweeper.js';
import { closeRuntime, type Runtime } from '../runtime.js';
import { healthMetrics, recordSweep, recordWorkerResults } from './processMetrics.js';

/**
 * The delivery worker of `runhook serve` (`leaseAhead`: it leases busy webhooks ahead) or of
 * `runhook worker` (not: scale-out workers share a busy webhook; docs/architecture.md#leasing-ahead).
 */
export function startWorker(rt: Runtime, options: { leaseAhead: boolean }): Worker {
  const worker = createWorkerWithHealth({
    leaseAhead: options.leaseAhead,
    store: rt.store,
    send: rt.send,
    settings: rt.config,
    config: rt.config,
    logger: rt.logger.child({ component: 'worker' }),
    onRecorded: recordWorkerResults,
    events: healthMetrics,
  });
  worker.start();
  return worker;
}

/** The retention sweeper, unless RUNHOOK_RETENTION=0 and RUNHOOK_RESULTS_RETENTION=0 keep everything. */
export function startRetention(rt: Runtime): RetentionSweeper | null {
  if (rt.config.retentionMs === null && rt.config.resultsRetentionMs === null) return null;
  const sweeper = createRetentionSweeper({
    store: rt.store,
    retentionMs: rt.config.retentionMs,
    resultsRetentionMs: rt.config.resultsRetentionMs,
    logger: rt.logger.child({ component: 'retention' }),
    onSwept: recordSweep,
  });
  sweeper.start();
  return sweeper;
}

/** The run-group sweep (docs/delivery.md#run-groups): every process runs one, with or without a worker. */
export function startGroupSweep(rt: Runtime): GroupSweep {
  const sweep = createGroupSweep({
    store: rt.store,
    windowMs: rt.config.groupWindowMs,
    publicUrl: rt.config.publicUrl,
    logger: rt.logger.child({ component: 'run-groups' }),
  });
  sweep.start();
  return sweep;
}

/** Stops cleanly on SIGTERM / SIGINT: no new claims, in-flight attempts finish or are released. */
export function onShutdown(rt: Runtime, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    rt.logger.info({ signal }, 'shutting down');
    stop()
      .then(() => closeRuntime(rt))
      .then(
        () => process.exit(0),
        (err) => {
          rt.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
