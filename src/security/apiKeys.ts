import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { NewApiKey } from '../domain/types.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `sk_live_` + 40 alphanumerics from a CSPRNG (rejection sampling keeps it unbiased). */
export function generateApiKey(): string {
  let out = '';
  while (out.length < 40) {
    for (const byte of randomBytes(64)) {
      if (byte < 248 && out.length < 40) out += ALPHABET[byte % 62];
    }
  }
  return `sk_live_${out}`;
}

/**
 * Keys carry 238 bits of randomness, so a plain SHA-256 is the right hash: a slow password
 * hash would add nothing but latency to every request (GitHub and Stripe tokens work the same way).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function newApiKeyRecord(key: string, name: string, expiresAt: number | null): NewApiKey {
  return { id: randomUUID(), name, keyHash: hashApiKey(key), prefix: key.slice(0, 12), expiresAt };
}
