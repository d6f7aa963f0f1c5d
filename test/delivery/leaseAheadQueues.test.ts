/**
 * The worker's slots and its deliveries leased ahead, without a database: a queue is sent in order
 * while its webhook and organization have room, an answer's slot goes to its own webhook first, a
 * 410 ends what is queued without sending it, a delivery held too long or a queue blocked by other
 * workers alone is handed back.
 */
import { describe, expect, it } from 'vitest';
import { createLeaseAheadQueues, HOLD_MS, STUCK_RELEASE_MS } from '../../src/delivery/leaseAheadQueues.js';
import { createSlots } from '../../src/delivery/slots.js';
import type { ClaimedDelivery } from '../../src/store/store.js';
import { delivery } from './workerParts.js';

function harness(limits = { workerConcurrency: 4, webhookConcurrency: 2, orgConcurrency: 3 }) {
  let clock = 1_000;
  const slots = createSlots(limits);
  const sent: ClaimedDelivery[] = [];
  const released: string[][] = [];
  let stopping = false;
  const queues = createLeaseAheadQueues({
    slots,
    launch: (d) => {
      slots.take(d);
      sent.push(d);
    },
    release: async (ids) => {
      released.push(ids);
    },
    now: () => clock,
    stopping: () => stopping,
  });
  return {
    slots,
    queues,
    sent,
    released,
    tick: (ms: number) => {
      clock += ms;
    },
    stop: () => {
      stopping = true;
    },
  };
}

describe('slots', () => {
  it('fit a request within the worker, webhook and organization caps, less other workers’ leases', () => {
    const slots = createSlots({ workerConcurrency: 3, webhookConcurrency: 2, orgConcurrency: 2 });
    const [a, b, c] = [delivery('w1', 'o1'), delivery('w1', 'o1'), delivery('w2', 'o2')];
    slots.take(a);
    expect(slots.hasRoom(b)).toBe(true);
    slots.setOthersLeased({ webhooks: new Map([['w1', 1]]), orgs: new Map() });
    expect(slots.hasRoom(b)).toBe(false);
    expect(slots.idleAt('w1', 'o1')).toBe(false);
    expect(slots.idleAt('w2', 'o2')).toBe(true);
    slots.reserve();
    slots.take(c);
    expect(slots.free()).toBe(0);
    expect(slots.hasRoom(delivery('w3', 'o3'))).toBe(false);
    slots.unreserve();
    slots.land(a);
    expect(slots.inflight.size).toBe(1);
    expect(slots.free()).toBe(2);
  });
});

describe('lease-ahead queues', () => {
  it('send a webhook’s deliveries in order while its cap has room, the rest as answers come in', () => {
    const { slots, queues, sent } = harness();
    const ds = [delivery('w1'), delivery('w1'), delivery('w1'), delivery('w1')];
    queues.add(ds);
    expect(sent.map((d) => d.deliveryId)).toEqual(ds.slice(0, 2).map((d) => d.deliveryId));
    expect(queues.count).toBe(2);
    expect(queues.lengths()).toEqual(new Map([['w1', 2]]));
    expect(queues.ids()).toEqual(ds.slice(2).map((d) => d.deliveryId));
    slots.land(ds[0]!);
    queues.pumpAfter(ds[0]!);
    expect(sent.map((d) => d.deliveryId)).toEqual(ds.slice(0, 3).map((d) => d.deliveryId));
    expect(queues.webhooks).toBe(1);
  });

  it('keep within the organization’s cap across webhooks', () => {
    const { queues, sent } = harness();
    queues.add([delivery('w1'), delivery('w1'), delivery('w2'), delivery('w2')]);
    // The organization's cap is 3: the second webhook gets one of its two.
    expect(sent).toHaveLength(3);
    expect(queues.count).toBe(1);
  });

  it('end what is queued of a gone webhook without sending it, except Test Webhook samples', () => {
    const { slots, queues, sent } = harness({
      workerConcurrency: 4,
      webhookConcurrency: 1,
      orgConcurrency: 4,
    });
    const [first, queued, sample] = [delivery('w1'), delivery('w1'), delivery('w1', 'org-1', 'test')];
    queues.add([first, queued, sample]);
    queues.goneFrom('w1');
    slots.land(first);
    queues.pumpAfter(first);
    slots.land(sent[1]!);
    queues.pumpAfter(sent[1]!);
    expect(sent.map((d) => [d.deliveryId, 'unsendable' in d.target])).toEqual([
      [first.deliveryId, false],
      [queued.deliveryId, true],
      [sample.deliveryId, false],
    ]);
  });

  it('hand a queue back when its head was held longer than HOLD_MS', async () => {
    const { slots, queues, sent, released, tick } = harness({
      workerConcurrency: 4,
      webhookConcurrency: 1,
      orgConcurrency: 4,
    });
    const [a, b, c] = [delivery('w1'), delivery('w1'), delivery('w1')];
    queues.add([a, b, c]);
    tick(HOLD_MS + 1);
    slots.land(a);
    queues.pumpAfter(a);
    await Promise.resolve();
    expect(sent).toEqual([a]);
    expect(released).toEqual([[b.deliveryId, c.deliveryId]]);
    expect(queues.count).toBe(0);
  });

  it('hand back a queue that only other workers’ leases block, after STUCK_RELEASE_MS', async () => {
    const { slots, queues, released, tick } = harness();
    slots.setOthersLeased({ webhooks: new Map([['w1', 2]]), orgs: new Map() });
    const d = delivery('w1');
    queues.add([d]);
    expect(await queues.unstick()).toBe(true);
    expect(released).toEqual([]);
    tick(STUCK_RELEASE_MS);
    expect(await queues.unstick()).toBe(true);
    expect(released).toEqual([[d.deliveryId]]);
    expect(await queues.unstick()).toBe(false);
  });

  it('send nothing once stopping, and release everything queued', async () => {
    const { slots, queues, sent, released, stop } = harness({
      workerConcurrency: 4,
      webhookConcurrency: 1,
      orgConcurrency: 4,
    });
    const [a, b] = [delivery('w1'), delivery('w1')];
    queues.add([a, b]);
    stop();
    slots.land(a);
    queues.pumpAfter(a);
    expect(sent).toEqual([a]);
    await queues.releaseAll();
    expect(released).toEqual([[b.deliveryId]]);
    expect(queues.count).toBe(0);
    expect(queues.webhooks).toBe(0);
  });
});
