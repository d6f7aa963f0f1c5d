/**
 * The delivery worker together with the endpoint-health monitor that watches what it records
 * (auto-disable, probes, operator alerts): what `runhook serve` and `runhook worker` run.
 */

import { createWorker, type Worker, type WorkerDeps } from './deliveryWorker.js';
import { createHealthMonitor, type HealthMonitorDeps } from './healthMonitor.js';

export function createWorkerWithHealth(
  deps: WorkerDeps & { config: HealthMonitorDeps['config']; events?: HealthMonitorDeps['events'] },
): Worker {
  const monitor = createHealthMonitor({
    store: deps.store,
    send: deps.send,
    config: deps.config,
    logger: deps.logger,
    now: deps.now,
    onRecorded: deps.onRecorded,
    events: deps.events,
  });
  const worker = createWorker({
    ...deps,
    onRecorded: (results) => {
      deps.onRecorded?.(results);
      monitor.afterRecorded(results);
    },
  });
  return {
    id: worker.id,
    start() {
      worker.start();
      monitor.start();
    },
    async stop(graceMs) {
      await worker.stop(graceMs);
      await monitor.stop();
    },
  };
}
