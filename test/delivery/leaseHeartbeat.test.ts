/**
 * The worker's lease renewals and its sleep, without a database: renewals run on an interval, one
 * at a time, never beside a write of results; a wake-up ends a sleep, and one that comes before the
 * sleep is kept.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startLeaseHeartbeat } from '../../src/delivery/leaseHeartbeat.js';
import { createWakeSignal } from '../../src/delivery/wakeSignal.js';
import { deferred, silentLogger } from './workerParts.js';

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('lease heartbeat', () => {
  it('renews the ids it is given, one renewal at a time, and not beside a write', async () => {
    const write = deferred();
    let writing: Promise<void> | null = write.promise;
    const renewals: string[][] = [];
    const heartbeat = startLeaseHeartbeat({
      ids: () => ['a', 'b'],
      extend: async (ids) => {
        renewals.push(ids);
      },
      writing: () => writing,
      intervalMs: 10,
      logger: silentLogger,
    });
    try {
      await until(() => heartbeat.renewing() !== null);
      await sleep(50);
      // The first renewal waits for the write; no second one starts meanwhile.
      expect(renewals).toEqual([]);
      writing = null;
      write.resolve();
      await until(() => renewals.length >= 2);
      expect(renewals[0]).toEqual(['a', 'b']);
    } finally {
      heartbeat.stop();
    }
    const count = renewals.length;
    await sleep(40);
    expect(renewals.length).toBeLessThanOrEqual(count + 1);
  });

  it('skips a renewal with nothing to renew, and survives a failed one', async () => {
    let ids: string[] = [];
    let calls = 0;
    const heartbeat = startLeaseHeartbeat({
      ids: () => ids,
      extend: async () => {
        calls++;
        throw new Error('database away');
      },
      writing: () => null,
      intervalMs: 10,
      logger: silentLogger,
    });
    try {
      await sleep(40);
      expect(calls).toBe(0);
      ids = ['a'];
      await until(() => calls >= 2);
    } finally {
      heartbeat.stop();
    }
  });
});

describe('wake signal', () => {
  it('ends a sleep when woken, and keeps a wake-up that came before the sleep', async () => {
    const signal = createWakeSignal();
    const started = Date.now();
    const slept = signal.sleep(10_000);
    signal.wake();
    await slept;
    signal.wake();
    await signal.sleep(10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('sleeps the whole time when nobody wakes it', async () => {
    const signal = createWakeSignal();
    const started = Date.now();
    await signal.sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
