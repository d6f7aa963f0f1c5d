import { randomFillSync } from 'node:crypto';

const BATCH = 256;
const random = Buffer.alloc(16 * BATCH);
let next = random.length;

/**
 * A UUID version 7 (RFC 9562): the Unix time in milliseconds in its first 48 bits, then 74 random
 * bits. Ids made later sort later, so a table's primary-key index grows at its end instead of at
 * random places: attempts are written once each and never looked up by a random id in bulk, and a
 * random id per attempt made every insert touch a different page of an index that grows by one
 * entry per attempt, which slowed a million-delivery drain as its history grew
 * (docs/architecture.md#attempt-rows). Still a UUID; nothing reads the time back out of it.
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  if (next >= random.length) {
    randomFillSync(random);
    next = 0;
  }
  const b = Buffer.from(random.subarray(next, next + 16));
  next += 16;
  b.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The smallest id timeOrderedUuid can make at `ms` or later: as a string, every id made from that
 * millisecond on sorts after it (the live tail reads "attempts after" such a bound, docs/api.md#live-tail).
 */
export function timeOrderedLowerBound(ms: number): string {
  const h = (Math.max(0, Math.floor(ms)) % 2 ** 48).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

/** The millisecond a timeOrderedUuid (or bound) was made at; null when `id` is not one. */
export function timeOfOrderedId(id: string): number | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(id.toLowerCase());
  if (!m) return null;
  return Number.parseInt(`${m[1]}${m[2]}`, 16);
}

/**
 * Ids of different things are different types (docs/architecture.md#typed-ids): a webhook's id
 * passed where a delivery's is expected does not compile. The brand is optional, so a plain string
 * (a request's path parameter, a database row) is accepted where an id comes in, and an id is a
 * string wherever one is read; only two ids of different kinds cannot stand for each other.
 */
type Id<Kind extends string> = string & { readonly __id?: Kind };

export type OrgId = Id<'organization'>;
export type AgentId = Id<'agent'>;
export type RunId = Id<'run'>;
export type WebhookId = Id<'webhook'>;
export type DeliveryId = Id<'delivery'>;
export type EventId = Id<'event'>;
export type WorkerId = Id<'worker'>;
