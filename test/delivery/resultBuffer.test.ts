/**
 * The worker's result buffer (group commit), without a database: results wait a short delay to be
 * written together, one write at a time; a write waits for a lease renewal under way; a failed
 * write keeps its results for the next; drain() writes everything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createResultBuffer, RESULT_BATCH } from '../../src/delivery/resultBuffer.js';
import type { DeliveryResult } from '../../src/store/store.js';
import { deferred, result, silentLogger } from './workerParts.js';

function harness(
  options: { write?: (batch: DeliveryResult[]) => Promise<void>; before?: () => Promise<void> | null } = {},
) {
  const writes: string[][] = [];
  const written: string[][] = [];
  let freed = 0;
  const buffer = createResultBuffer({
    write:
      options.write ??
      (async (batch) => {
        writes.push(batch.map((r) => r.deliveryId));
      }),
    before: options.before ?? (() => null),
    slotsFreed: () => {
      freed++;
    },
    written: (batch) => written.push(batch.map((r) => r.deliveryId)),
    logger: silentLogger,
    flushDelayMs: 5,
  });
  return { buffer, writes, written, freed: () => freed };
}

describe('result buffer', () => {
  it('writes results that arrive within the delay as one group, and reports it written', async () => {
    const { buffer, writes, written, freed } = harness();
    buffer.push(result('a'));
    buffer.push(result('b'));
    expect(buffer.unwrittenIds()).toEqual(['a', 'b']);
    expect(writes).toEqual([]);
    await buffer.drain();
    expect(writes).toEqual([['a', 'b']]);
    expect(written).toEqual([['a', 'b']]);
    expect(freed()).toBe(1);
    expect(buffer.unwrittenIds()).toEqual([]);
  });

  it('writes a full group at once, without waiting for the delay', async () => {
    const { buffer, writes } = harness();
    for (let i = 0; i < RESULT_BATCH; i++) buffer.push(result(`r${i}`));
    // The write started synchronously with the last push.
    expect(buffer.writing()).not.toBeNull();
    await buffer.writing();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(RESULT_BATCH);
  });

  it('writes one group at a time: what comes in during a write is the next group', async () => {
    const gate = deferred();
    const writes: string[][] = [];
    const { buffer, freed } = harness({
      write: async (batch) => {
        writes.push(batch.map((r) => r.deliveryId));
        if (writes.length === 1) await gate.promise;
      },
    });
    buffer.push(result('a'));
    const first = buffer.flush(); // the write waits on the gate
    await sleep(1);
    buffer.push(result('b'));
    expect(buffer.unwrittenIds()).toEqual(['a', 'b']);
    expect(buffer.bufferedIds()).toEqual(['b']);
    await sleep(20); // b's delay runs out while a's write is under way: its slots are free
    expect(writes).toEqual([['a']]);
    expect(freed()).toBe(2);
    gate.resolve();
    await first;
    await buffer.drain();
    expect(writes).toEqual([['a'], ['b']]);
  }, 10_000);

  it('lets a lease renewal under way finish before writing', async () => {
    const renewal = deferred();
    let renewing: Promise<void> | null = renewal.promise;
    const { buffer, writes } = harness({ before: () => renewing });
    buffer.push(result('a'));
    const flushed = buffer.flush();
    await sleep(10);
    expect(writes).toEqual([]);
    renewing = null;
    renewal.resolve();
    await flushed;
    expect(writes).toEqual([['a']]);
  });

  it('keeps the results of a failed write and writes them with the next', async () => {
    let fail = true;
    const writes: string[][] = [];
    const { buffer, written } = harness({
      write: async (batch) => {
        if (fail) {
          fail = false;
          throw new Error('database away');
        }
        writes.push(batch.map((r) => r.deliveryId));
      },
    });
    buffer.push(result('a'));
    const first = buffer.flush();
    buffer.push(result('b'));
    await first;
    expect(buffer.bufferedIds()).toEqual(['a', 'b']);
    expect(written).toEqual([]);
    await buffer.drain();
    expect(writes).toEqual([['a', 'b']]);
    expect(written).toEqual([['a', 'b']]);
  }, 10_000);
});
