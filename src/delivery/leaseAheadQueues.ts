import { ATTEMPT_TRIGGER } from '../domain/types.js';
import type { ClaimedDelivery } from '../store/store.js';
import type { Slots } from './slots.js';

/**
 * What a queued delivery of a webhook that answered 410 is sent to: nothing (see goneFrom). The
 * claim's decision (the webhook is off), made ahead of it from the outcome, not a second reading
 * of the answer (docs/architecture.md#one-send-pipeline).
 */
const GONE_TARGET = Object.freeze({ unsendable: 'webhook_disabled' as const });
/**
 * The longest a delivery is held ahead before it is sent or handed back (see pump): a change to its
 * webhook (switched off, a new URL) reaches what is held ahead within this.
 */
export const HOLD_MS = 1_000;
/** A queue blocked this long by other workers' leases alone is handed back (see unstick). */
export const STUCK_RELEASE_MS = 1_000;

export interface LeaseAheadDeps {
  slots: Slots;
  /** Sends one delivery (it takes a slot). */
  launch(d: ClaimedDelivery): void;
  /** Gives leases back to the database, unsent, for any worker to claim again. */
  release(ids: string[]): Promise<void>;
  now(): number;
  /** True once the worker stops: nothing more is sent from the queues. */
  stopping(): boolean;
}

/**
 * Deliveries leased ahead (docs/architecture.md#leasing-ahead): per webhook in due order, each
 * sent when its webhook and organization have room. Every webhook's list is non-empty.
 */
export interface LeaseAheadQueues {
  /** How many webhooks have deliveries queued. */
  readonly webhooks: number;
  /** How many deliveries are queued in all. */
  readonly count: number;
  /** Queued deliveries per webhook, for the claim's prefetch budget. */
  lengths(): Map<string, number>;
  /** Every queued delivery's id (they are leased to this worker). */
  ids(): string[];
  /** Queues a claim's deliveries behind what their webhooks hold already, and sends what fits. */
  add(deliveries: readonly ClaimedDelivery[]): void;
  /**
   * After an answer: the freed slot goes to its webhook's queue first, then to the other queues (a
   * slot of its organization, or of the worker, may be what they wait for).
   */
  pumpAfter(done: ClaimedDelivery): void;
  /**
   * The webhook answered 410 Gone, which turns it off when the result is written: what it holds
   * ahead ends failed without being sent, as a claim after that write would end it (a Test Webhook
   * sample is still sent, as to any disabled webhook), instead of asking a gone endpoint again.
   */
  goneFrom(webhookId: string): void;
  /**
   * Whether a queue is blocked by other workers' leases alone (nothing of this worker in flight to
   * its webhook or organization, a slot free): no answer of ours will send it, a fresh count of
   * those leases may. A queue stuck for STUCK_RELEASE_MS is handed back: the rules keep two workers
   * from waiting on each other, and this bounds the wait if they ever did.
   */
  unstick(): Promise<boolean>;
  /** Hands back everything queued (stop()). */
  releaseAll(): Promise<void>;
}

export function createLeaseAheadQueues(deps: LeaseAheadDeps): LeaseAheadQueues {
  const { slots, now } = deps;
  const queues = new Map<string, ClaimedDelivery[]>();
  const queuedAt = new WeakMap<ClaimedDelivery, number>();
  /** Since when each stuck queue has been stuck. */
  const stuckSince = new Map<string, number>();
  let count = 0;

  /** Sends this webhook's queued deliveries, in order, while it has room. */
  function pump(webhookId: string): void {
    const q = queues.get(webhookId);
    if (!q) return;
    while (!deps.stopping() && q.length > 0 && slots.hasRoom(q[0] as ClaimedDelivery)) {
      const d = q[0] as ClaimedDelivery;
      // Held too long (a slow endpoint): the webhook may have changed since its claim read it.
      // Back to the database, for a claim to lease again with the webhook as it is now.
      if (now() - (queuedAt.get(d) ?? now()) > HOLD_MS) {
        void handBack(webhookId);
        return;
      }
      count--;
      deps.launch(q.shift() as ClaimedDelivery);
    }
    if (q.length === 0) queues.delete(webhookId);
  }

  const pumpAll = () => {
    for (const webhookId of [...queues.keys()]) pump(webhookId);
  };

  /** Releases everything held ahead of this webhook: unsent, claimable by any worker again. */
  async function handBack(webhookId: string): Promise<void> {
    const q = queues.get(webhookId) ?? [];
    queues.delete(webhookId);
    count -= q.length;
    if (q.length > 0) await deps.release(q.map((d) => d.deliveryId)).catch(() => {});
  }

  function stuckQueues(): string[] {
    const stuck: string[] = [];
    if (slots.free() <= 0) return stuck;
    for (const [webhookId, q] of queues) {
      const d = q[0] as ClaimedDelivery;
      if (!slots.hasRoom(d) && slots.idleAt(webhookId, d.orgId)) stuck.push(webhookId);
    }
    return stuck;
  }

  return {
    get webhooks() {
      return queues.size;
    },
    get count() {
      return count;
    },
    lengths: () => new Map([...queues].map(([w, q]) => [w, q.length])),
    ids() {
      const ids: string[] = [];
      for (const q of queues.values()) for (const d of q) ids.push(d.deliveryId);
      return ids;
    },
    add(deliveries) {
      // Behind what each webhook holds already (in due order), and sent while there is room:
      // usually at once, the rest as answers free slots.
      for (const c of deliveries) {
        const q = queues.get(c.webhookId);
        if (q) q.push(c);
        else queues.set(c.webhookId, [c]);
        queuedAt.set(c, now());
        count++;
      }
      pumpAll();
    },
    pumpAfter(done) {
      pump(done.webhookId);
      pumpAll();
    },
    goneFrom(webhookId) {
      const q = queues.get(webhookId);
      if (!q) return;
      for (let i = 0; i < q.length; i++) {
        const d = q[i] as ClaimedDelivery;
        if (d.trigger === ATTEMPT_TRIGGER.test) continue;
        q[i] = { ...d, target: GONE_TARGET };
        queuedAt.set(q[i] as ClaimedDelivery, queuedAt.get(d) ?? now());
      }
    },
    async unstick() {
      const stuck = stuckQueues();
      for (const webhookId of stuckSince.keys()) if (!stuck.includes(webhookId)) stuckSince.delete(webhookId);
      for (const webhookId of stuck) {
        const since = stuckSince.get(webhookId);
        if (since === undefined) stuckSince.set(webhookId, now());
        else if (now() - since >= STUCK_RELEASE_MS) {
          stuckSince.delete(webhookId);
          await handBack(webhookId);
        }
      }
      return stuck.length > 0;
    },
    async releaseAll() {
      const ahead = [...queues.values()].flat().map((d) => d.deliveryId);
      queues.clear();
      count = 0;
      if (ahead.length > 0) await deps.release(ahead).catch(() => {});
    },
  };
}
