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
