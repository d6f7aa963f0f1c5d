import type { Logger } from 'pino';
import type { DeliveryResult } from '../store/store.js';

/** Largest group of results written at once; a buffer this full is written without delay. */
export const RESULT_BATCH = 256;
/**
 * How long finished attempts wait to be written together (group commit). The flush also wakes the
 * claim that refills the slots those attempts held, so this is part of every slot's round: 2 ms
 * drained 1–16 % faster than 4 ms at the same CPU per delivery (commit f375150); 1 ms
 * cost more CPU than it gained.
 */
export const FLUSH_DELAY_MS = 2;
/** After a failed write, how long before the results are tried again. */
const RETRY_WRITE_MS = 500;

export interface ResultBufferDeps {
  /** Writes one group durably (Store.recordResults). */
  write(batch: DeliveryResult[]): Promise<void>;
  /** A write waits for this first (a lease renewal under way may name the same rows). */
  before(): Promise<void> | null;
  /**
   * The slots of the buffered answers are free: a write started, or their delay ran out while an
   * earlier write was under way (settled attempts do not count against the caps).
   */
  slotsFreed(): void;
  /** A group is written (durably). */
  written(batch: readonly DeliveryResult[]): void;
  logger: Logger;
  flushDelayMs?: number;
}

/**
 * The worker's results on their way to the database, written in groups (group commit): a result
 * waits FLUSH_DELAY_MS for others, one write at a time, and a group that fails to write goes back
 * to the buffer for the next one (the leases keep other workers from resending meanwhile).
 */
export interface ResultBuffer {
  push(result: DeliveryResult): void;
  /** Writes what is buffered now (or joins the write under way). */
  flush(): Promise<void>;
  /** Writes until nothing is buffered or being written (stop()). */
  drain(): Promise<void>;
  /** The write under way, if any. */
  writing(): Promise<void> | null;
  /** The ids of the results buffered, not those being written. */
  bufferedIds(): string[];
  /** The ids of every result not written yet: being written and buffered. */
  unwrittenIds(): string[];
}

export function createResultBuffer(deps: ResultBufferDeps): ResultBuffer {
  const flushDelayMs = deps.flushDelayMs ?? FLUSH_DELAY_MS;
  let buffer: DeliveryResult[] = [];
  /** The results `flushing` is writing. */
  let inWrite: readonly DeliveryResult[] = [];
  let flushing: Promise<void> | null = null;
  let flushTimer: NodeJS.Timeout | null = null;

  /**
   * Writes the buffer in flushDelayMs (at once when it holds RESULT_BATCH), or, while the previous
   * batch is still being written, says the slots are free then: their flush follows that write.
   */
  function flushSoon(): void {
    if (buffer.length >= RESULT_BATCH && !flushing) void flush();
    else if (!flushTimer) {
      flushTimer = setTimeout(() => {
        flushTimer = null;
        if (flushing) deps.slotsFreed();
        else void flush();
      }, flushDelayMs);
    }
  }

  async function write(batch: DeliveryResult[]): Promise<void> {
    try {
      // A lease renewal under way may name some of these rows: let it finish first.
      const renewal = deps.before();
      if (renewal) await renewal;
      const recorded = deps.write(batch);
      deps.slotsFreed();
      await recorded;
      deps.written(batch);
    } catch (err) {
      deps.logger.error({ err, count: batch.length }, 'could not record attempts; will retry');
      inWrite = []; // in the buffer again
      buffer = batch.concat(buffer);
      await new Promise((r) => setTimeout(r, RETRY_WRITE_MS));
    } finally {
      inWrite = [];
      flushing = null;
    }
    if (buffer.length > 0) flushSoon();
  }

  async function flush(): Promise<void> {
    if (flushTimer) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (flushing) return flushing;
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    inWrite = batch;
    flushing = write(batch);
    return flushing;
  }

  return {
    push(result) {
      buffer.push(result);
      flushSoon();
    },
    flush,
    async drain() {
      while (buffer.length > 0 || flushing) await flush();
    },
    writing: () => flushing,
    bufferedIds: () => buffer.map((r) => r.deliveryId),
    unwrittenIds: () => [...inWrite, ...buffer].map((r) => r.deliveryId),
  };
}
