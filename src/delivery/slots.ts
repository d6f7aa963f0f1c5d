import type { Claim, ClaimedDelivery } from '../store/store.js';

export interface SlotLimits {
  workerConcurrency: number;
  webhookConcurrency: number;
  orgConcurrency: number;
  /** RUNHOOK_ORG_CONCURRENCY=auto: an organization alone may use all slots but orgReserve(). */
  orgBorrow?: boolean;
}

/**
 * The slots a worker keeps from an organization that is alone with work and past its cap
 * (RUNHOOK_ORG_CONCURRENCY=auto, docs/operations.md#fairness-and-limits): an eighth, so that another
 * organization's new delivery is sent at once rather than after an attempt of the first ends.
 */
export function orgReserve(limits: SlotLimits): number {
  return Math.ceil(limits.workerConcurrency / 8);
}

/** Every other worker's live leases per webhook and organization, as a claim counted them. */
export type OthersLeased = NonNullable<Claim['othersLeased']>;

/**
 * A worker's slots: its requests in flight (per webhook and organization too), the slots kept for
 * hand-offs being written, and the other workers' leases its last claim counted. Whether one more
 * request fits is decided here alone (docs/architecture.md#leasing-ahead).
 */
export interface Slots {
  /** This worker's requests in flight, by delivery id (hand-offs included). */
  readonly inflight: ReadonlyMap<string, ClaimedDelivery>;
  /** Slots kept for deliveries being written with a hand-off (Store.takeHandoffs). */
  readonly reserved: number;
  /** Slots neither in flight nor reserved. */
  free(): number;
  /**
   * Whether one more request fits this worker's slots, and one more of this delivery's webhook
   * keeps both caps, counting every other worker's leases (as its last claim counted them) as
   * requests in flight: whatever they leased since, they counted all of this worker's leases, so
   * the two together stay within the cap.
   */
  hasRoom(d: ClaimedDelivery): boolean;
  /**
   * The organization's cap as this worker sees it: RUNHOOK_ORG_CONCURRENCY, or (auto) while no other
   * organization has anything in flight, this worker's slots but its reserve.
   */
  orgCap(orgId: string): number;
  /** Nothing of this worker in flight to this webhook or in this organization. */
  idleAt(webhookId: string, orgId: string): boolean;
  take(d: ClaimedDelivery): void;
  land(d: ClaimedDelivery): void;
  reserve(): void;
  unreserve(): void;
  setOthersLeased(leased: OthersLeased): void;
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n === 0) m.delete(key);
  else m.set(key, n);
}

export function createSlots(limits: SlotLimits): Slots {
  const inflight = new Map<string, ClaimedDelivery>();
  const flyingTo = new Map<string, number>();
  const flyingIn = new Map<string, number>();
  let othersLeased: OthersLeased = { webhooks: new Map(), orgs: new Map() };
  let reserved = 0;
  const free = () => limits.workerConcurrency - inflight.size - reserved;
  const alone = (orgId: string) =>
    [...flyingIn.keys(), ...othersLeased.orgs.keys()].every((o) => o === orgId);
  const orgCap = (orgId: string) =>
    limits.orgBorrow && alone(orgId)
      ? Math.max(limits.orgConcurrency, limits.workerConcurrency - orgReserve(limits))
      : limits.orgConcurrency;
  return {
    inflight,
    get reserved() {
      return reserved;
    },
    free,
    hasRoom(d) {
      return (
        free() > 0 &&
        (flyingTo.get(d.webhookId) ?? 0) <
          limits.webhookConcurrency - (othersLeased.webhooks.get(d.webhookId) ?? 0) &&
        (flyingIn.get(d.orgId) ?? 0) < orgCap(d.orgId) - (othersLeased.orgs.get(d.orgId) ?? 0)
      );
    },
    orgCap,
    idleAt(webhookId, orgId) {
      return !flyingTo.get(webhookId) && !flyingIn.get(orgId);
    },
    take(d) {
      inflight.set(d.deliveryId, d);
      bump(flyingTo, d.webhookId, 1);
      bump(flyingIn, d.orgId, 1);
    },
    land(d) {
      inflight.delete(d.deliveryId);
      bump(flyingTo, d.webhookId, -1);
      bump(flyingIn, d.orgId, -1);
    },
    reserve() {
      reserved++;
    },
    unreserve() {
      reserved--;
    },
    setOthersLeased(leased) {
      othersLeased = leased;
    },
  };
}
