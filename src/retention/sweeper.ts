/**
 * The retention sweeper (docs/operations.md#retention). Every min(1 hour, retention / 4) it deletes
 * finished deliveries last updated more than RUNHOOK_RETENTION ago, their attempts, and the events
 * they leave behind (and operator alerts sent before then), in transactions of at most 1,000 rows with a pause between them, so delivery
 * goes on while it works. Every `serve` and `worker` process runs one; on PostgreSQL an advisory
 * lock lets only one of them sweep at a time.
 */
import type { Logger } from 'pino';
import { IDEMPOTENCY_TTL_MS, type PruneBatch, type Store } from '../store/store.js';

export interface SweepTotals {
  deliveries: number;
  attempts: number;
  events: number;
  runsMarked: number;
  /** Operator alerts deleted (sent, given up or suppressed). */
  alerts: number;
  /** Pages given back to the filesystem (SQLite). */
  pagesReleased: number;
  /** Scenario results deleted (RUNHOOK_RESULTS_RETENTION). */
  results: number;
  /** Whether every expired row is gone (false when stopped or interrupted half way). */
  complete: boolean;
}

export interface RetentionSweeper {
  start(): void;
  /** Sweeps now; null when a sweep is already running here or another process holds the lock. */
  sweepOnce(): Promise<SweepTotals | null>;
  /** Stops the timer and waits for a sweep in progress to end its current batch. */
  stop(): Promise<void>;
}

export interface SweeperDeps {
  store: Pick<
    Store,
    | 'withRetentionLock'
    | 'pruneExpired'
    | 'pruneExpiredResults'
    | 'releaseFreePages'
    | 'pruneIdempotencyKeys'
    | 'pruneAlerts'
  >;
  /** Delivery history; null keeps it. */
  retentionMs: number | null;
  /** Scenario results; null (or absent) keeps them. */
  resultsRetentionMs?: number | null;
  logger: Logger;
  now?: () => number;
  /** Called after each sweep that ran (metrics). */
  onSwept?: (totals: SweepTotals, at: number) => void;
}

const HOUR = 3_600_000;
/** Operator alerts deleted per statement (as many as one retention transaction's rows). */
const ALERTS_PER_BATCH = 1_000;
/** The first sweep comes soon after start: an upgrade with months of history starts cleaning at once. */
const FIRST_SWEEP_MAX_DELAY_MS = 60_000;

/** How often a sweep runs for a given retention: min(1 hour, retention / 4). */
export function sweepIntervalMs(retentionMs: number): number {
  return Math.max(250, Math.min(HOUR, Math.floor(retentionMs / 4)));
}

export function createRetentionSweeper(deps: SweeperDeps): RetentionSweeper {
  const { store, retentionMs, logger } = deps;
  const resultsRetentionMs = deps.resultsRetentionMs ?? null;
  const now = deps.now ?? Date.now;
  const kept = [retentionMs, resultsRetentionMs].filter((ms): ms is number => ms !== null);
  const interval = sweepIntervalMs(Math.min(...kept, Number.MAX_SAFE_INTEGER));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<SweepTotals | null> | null = null;
  let stopping = false;

  async function sweep(): Promise<SweepTotals> {
    const totals: SweepTotals = {
      deliveries: 0,
      attempts: 0,
      events: 0,
      runsMarked: 0,
      alerts: 0,
      pagesReleased: 0,
      results: 0,
      complete: retentionMs === null,
    };
    const cutoff = now() - (retentionMs ?? 0);
    while (!stopping && retentionMs !== null) {
      const started = Date.now();
      const batch: PruneBatch = await store.pruneExpired({ cutoff, now: now() });
      totals.deliveries += batch.deliveries;
      totals.attempts += batch.attempts;
      totals.events += batch.events;
      totals.runsMarked += batch.runsMarked;
      if (batch.done) {
        totals.complete = true;
        break;
      }
      // Leave the database to deliveries for at least as long as the batch held it.
      await new Promise((r) => setTimeout(r, Math.max(10, Date.now() - started)));
    }
    while (!stopping && resultsRetentionMs !== null) {
      const started = Date.now();
      const batch = await store.pruneExpiredResults({ cutoff: now() - resultsRetentionMs });
      totals.results += batch.results;
      if (batch.done) break;
      await new Promise((r) => setTimeout(r, Math.max(10, Date.now() - started)));
    }
    // Idempotency-Key answers live 24 hours whatever the retention (docs/api.md#idempotency).
    if (!stopping) await store.pruneIdempotencyKeys(now() - IDEMPOTENCY_TTL_MS);
    // Operator alerts already sent (or given up, or suppressed) age out with the deliveries.
    while (!stopping && retentionMs !== null) {
      const n = await store.pruneAlerts({ cutoff, limit: ALERTS_PER_BATCH });
      totals.alerts += n;
      if (n < ALERTS_PER_BATCH) break;
    }
    if (totals.deliveries + totals.events + totals.results > 0)
      totals.pagesReleased = await store.releaseFreePages();
    return totals;
  }

  function sweepOnce(): Promise<SweepTotals | null> {
    if (running) return Promise.resolve(null);
    running = (async () => {
      try {
        const totals = await store.withRetentionLock(sweep);
        if (totals) {
          deps.onSwept?.(totals, now());
          if (totals.deliveries + totals.attempts + totals.events + totals.alerts + totals.results > 0) {
            logger.info(
              { ...totals, retention_ms: retentionMs, results_retention_ms: resultsRetentionMs },
              'retention: expired history deleted',
            );
          }
        }
        return totals;
      } catch (err) {
        logger.warn({ err }, 'retention sweep failed; trying again at the next interval');
        return null;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function schedule(delay: number): void {
    if (stopping) return;
    timer = setTimeout(() => {
      void sweepOnce().finally(() => schedule(interval));
    }, delay);
    timer.unref();
  }

  return {
    start() {
      if (timer || stopping) return;
      schedule(Math.min(interval, FIRST_SWEEP_MAX_DELAY_MS));
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
