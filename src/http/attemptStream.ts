/**
 * One open live tail (docs/api.md#live-tail): reads the organization's attempts from the store when
 * told that some were recorded (Store.onAttemptsRecorded, in this process or, on PostgreSQL,
 * another), and hands each new one, once, to `emit`.
 *
 * Attempt ids are time-ordered by the attempt's start (domain/ids.ts), and attempts are recorded
 * when they end, so one that started earlier can be recorded after one that started later. A
 * notice therefore carries the smallest id it covers, and a read goes back to it; the ids already
 * emitted (`seen`) keep a read that goes back from emitting twice.
 */
import { timeOfOrderedId, timeOrderedLowerBound } from '../domain/ids.js';
import type { AttemptFeedItem, Store } from '../store/store.js';

/** How far back Last-Event-ID resumes, and how long emitted ids are remembered. */
export const RESUME_WINDOW_MS = 5 * 60_000;
/** A stream opened without Last-Event-ID starts with what was recorded before it as seen, this far back. */
const OPEN_WINDOW_MS = 2 * 60_000;
/** A safety read, in case a notice was lost (a listener reconnecting), goes back this far. */
const SAFETY_WINDOW_MS = 30_000;
/** Reads of one stream are at least this far apart: under load, notices are merged, not each read. */
const MIN_READ_GAP_MS = 100;
const PAGE = 500;

export interface AttemptStreamOptions {
  store: Store;
  orgId: string;
  webhookId?: string;
  now: () => number;
  /** Resume after this attempt id (Last-Event-ID); absent: only attempts recorded from now on. */
  lastEventId?: string;
  emit(item: AttemptFeedItem): void;
  onError(err: unknown): void;
}

export class AttemptStream {
  private readonly seen = new Set<string>();
  /** No read goes below this id: the resume point, or the open time's window. */
  private floor: string;
  private pending: string | null = null;
  private reading = false;
  private closed = false;
  private lastRead = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: AttemptStreamOptions) {
    this.floor = o.lastEventId ?? timeOrderedLowerBound(o.now() - OPEN_WINDOW_MS);
  }

  /** Subscribes, then replays (Last-Event-ID) or marks what is already recorded as seen. */
  async start(): Promise<void> {
    this.unsubscribe = this.o.store.onAttemptsRecorded((fromId) => this.notice(fromId));
    if (this.o.lastEventId !== undefined) {
      await this.read(this.o.lastEventId);
    } else {
      await this.read(this.floor, false);
    }
  }

  /** A read back to `windowMs` ago, for notices a lost connection may have dropped. */
  safetyRead(): void {
    this.notice(timeOrderedLowerBound(this.o.now() - SAFETY_WINDOW_MS));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
  }

  private notice(fromId: string): void {
    if (this.closed) return;
    if (fromId === '') {
      this.safetyRead();
      return;
    }
    const t = timeOfOrderedId(fromId);
    if (t === null) return;
    const bound = timeOrderedLowerBound(t);
    if (this.pending === null || bound < this.pending) this.pending = bound;
    this.schedule();
  }

  private schedule(): void {
    if (this.reading || this.timer || this.pending === null || this.closed) return;
    const wait = Math.max(0, this.lastRead + MIN_READ_GAP_MS - this.o.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const from = this.pending;
      this.pending = null;
      if (from === null || this.closed) return;
      this.read(from).then(
        () => this.schedule(),
        (err) => this.o.onError(err),
      );
    }, wait);
  }

  /** Reads every attempt after `from` (never below the floor), emitting the new ones. */
  private async read(from: string, emit = true): Promise<void> {
    this.reading = true;
    try {
      const oldest = timeOrderedLowerBound(this.o.now() - RESUME_WINDOW_MS);
      const lowest = this.floor > oldest ? this.floor : oldest;
      let after = from > lowest ? from : lowest;
      for (const id of this.seen) if (id <= lowest) this.seen.delete(id);
      for (;;) {
        const page = await this.o.store.readAttemptFeed(this.o.orgId, {
          afterId: after,
          ...(this.o.webhookId !== undefined && { webhookId: this.o.webhookId }),
          limit: PAGE,
        });
        for (const item of page) {
          if (this.closed) return;
          if (this.seen.has(item.id)) continue;
          this.seen.add(item.id);
          if (emit) this.o.emit(item);
        }
        const last = page[page.length - 1];
        if (page.length < PAGE || !last) break;
        after = last.id;
      }
    } finally {
      this.reading = false;
      this.lastRead = this.o.now();
    }
  }
}
