/**
 * The run-group sweep (docs/delivery.md#run-groups): completes the groups whose runs are all final
 * and that nothing joined or finished for RUNHOOK_GROUP_WINDOW. A group completed by its size is
 * settled in its last run's transaction instead; this covers the window, and groups whose
 * process stopped between. Every `serve` and `worker` process runs one; the store lets one of them
 * settle each group.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

export interface GroupSweep {
  start(): void;
  /** Completes the groups due now; how many. */
  sweepOnce(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** How often groups are looked at: a quarter of the window, between 50 ms and 10 s. */
export function groupSweepIntervalMs(windowMs: number): number {
  return Math.max(50, Math.min(10_000, Math.floor(windowMs / 4)));
}

export function createGroupSweep(deps: {
  store: Pick<Store, 'completeDueGroups'>;
  windowMs: number;
  publicUrl: string;
  logger: Logger;
  now?: () => number;
}): GroupSweep {
  const now = deps.now ?? Date.now;
  const interval = groupSweepIntervalMs(deps.windowMs);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopping = false;

  function sweepOnce(): Promise<number> {
    if (running) return running;
    running = deps.store
      .completeDueGroups({ now: now(), windowMs: deps.windowMs, publicUrl: deps.publicUrl })
      .then(
        (n) => {
          if (n > 0) deps.logger.debug({ groups: n }, 'run groups completed by the window');
          return n;
        },
        (err) => {
          deps.logger.warn({ err }, 'run-group sweep failed; trying again at the next interval');
          return 0;
        },
      )
      .finally(() => {
        running = null;
      });
    return running;
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      void sweepOnce().finally(schedule);
    }, interval);
    timer.unref();
  }

  return {
    start() {
      if (timer || stopping) return;
      schedule();
    },
    sweepOnce,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
