import type { Logger } from 'pino';

export interface LeaseHeartbeatDeps {
  /** Every lease this worker holds and has not written a result for. */
  ids(): string[];
  /** Extends them (Store.extendLeases). */
  extend(ids: string[]): Promise<void>;
  /** The worker's write of results under way, if any: a renewal never runs beside it. */
  writing(): Promise<void> | null;
  intervalMs: number;
  logger: Logger;
}

export interface LeaseHeartbeat {
  /** The renewal under way, if any: a write of results waits for it. */
  renewing(): Promise<void> | null;
  stop(): void;
}

/**
 * Renews the worker's leases every `intervalMs` (a third of the lease), one renewal at a time,
 * never beside a write of this worker's results: the renewal could name rows the write updates
 * (they were in the buffer when it started) and lock them in another order, a deadlock PostgreSQL
 * breaks only after a second. Taken after the write, the ids leave out what it wrote.
 */
export function startLeaseHeartbeat(deps: LeaseHeartbeatDeps): LeaseHeartbeat {
  let renewing: Promise<void> | null = null;
  async function renew(): Promise<void> {
    const write = deps.writing();
    if (write) await write;
    const ids = deps.ids();
    if (ids.length > 0) {
      await deps.extend(ids).catch((err) => deps.logger.warn({ err }, 'lease renewal failed'));
    }
  }
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = renew().finally(() => {
      renewing = null;
    });
  }, deps.intervalMs);
  timer.unref();
  return {
    renewing: () => renewing,
    stop: () => clearInterval(timer),
  };
}
