/**
 * PostgreSQL's NOTIFY is sent coalesced (docs/architecture.md#waking-workers): one in flight at a
 * time, the calls made meanwhile sharing the next. What makes that safe: every call is followed by
 * a send that started after it, and resolves only when such a send has ended.
 */
import { describe, expect, it } from 'vitest';
import { coalesced } from '../../src/store/postgres/openPostgres.js';

/** A send whose end the test decides: each call records when it started and waits for release(). */
function controlledSend() {
  const sends: Array<{ startedAt: number; release: () => void }> = [];
  let clock = 0;
  const send = () =>
    new Promise<void>((resolve) => {
      sends.push({ startedAt: ++clock, release: resolve });
    });
  return { sends, send, tick: () => ++clock };
}

const settledFlag = (p: Promise<void>) => {
  const state = { done: false };
  void p.then(() => {
    state.done = true;
  });
  return state;
};
const flush = () => new Promise((r) => setImmediate(r));

describe('coalesced sends', () => {
  it('a call while none is in flight sends at once', async () => {
    const c = controlledSend();
    const notify = coalesced(c.send);
    const first = settledFlag(notify());
    expect(c.sends).toHaveLength(1);
    await flush();
    expect(first.done).toBe(false);
    c.sends[0]?.release();
    await flush();
    expect(first.done).toBe(true);
  });

  it('calls during a send share one more send, started after that send ends', async () => {
    const c = controlledSend();
    const notify = coalesced(c.send);
    const a = settledFlag(notify());
    const calledAt = c.tick();
    const b = settledFlag(notify());
    const d = settledFlag(notify());
    // Only the first is in flight; b and d wait for a send that starts after they were called.
    expect(c.sends).toHaveLength(1);
    c.sends[0]?.release();
    await flush();
    expect(a.done).toBe(true);
    expect(b.done).toBe(false);
    expect(c.sends).toHaveLength(2);
    expect(c.sends[1]?.startedAt).toBeGreaterThan(calledAt);
    c.sends[1]?.release();
    await flush();
    expect(b.done && d.done).toBe(true);
    expect(c.sends).toHaveLength(2);
  });

  it('a failed send rejects its callers and does not stop the next one', async () => {
    let n = 0;
    const releases: Array<(err?: Error) => void> = [];
    const notify = coalesced(
      () =>
        new Promise<void>((resolve, reject) => {
          n++;
          releases.push((err) => (err ? reject(err) : resolve()));
        }),
    );
    const first = notify();
    const second = notify();
    releases[0]?.(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await flush();
    expect(n).toBe(2);
    releases[1]?.();
    await expect(second).resolves.toBeUndefined();
    // Idle again: the next call sends at once.
    void notify();
    expect(n).toBe(3);
    releases[2]?.();
  });
});
