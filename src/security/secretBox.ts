import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Encrypts webhook secrets at rest with AES-256-GCM; the key is derived from RUNHOOK_SECRET_KEY. */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/**
 * How many opened secrets a box remembers. Every send opens its webhook's secret; remembering
 * them saves an AES-GCM decryption per attempt (docs/architecture.md#secrets-in-memory).
 */
const OPENED_CACHE_SIZE = 1_000;

export function createSecretBox(secretKey: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', secretKey, 'runhook', 'webhook-secrets v1', 32));
  // Keyed by the sealed text, whose IV is new on every seal: a changed or rotated secret is a new
  // key and misses; the replaced entry ages out. Least recently used first out (Map order).
  const opened = new Map<string, string>();
  const decrypt = (sealed: string): string => {
    if (!sealed.startsWith('v1:')) throw new Error('unknown secret encoding');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  };
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `v1:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
    },
    open(sealed) {
      let plain = opened.get(sealed);
      if (plain !== undefined) {
        opened.delete(sealed);
      } else {
        plain = decrypt(sealed);
        if (opened.size >= OPENED_CACHE_SIZE) opened.delete(opened.keys().next().value as string);
      }
      opened.set(sealed, plain);
      return plain;
    },
  };
}

/** On SQLite without RUNHOOK_SECRET_KEY: a key generated once beside the database, readable by its owner only. */
export function loadOrCreateKeyFile(databasePath: string): string {
  const file = join(dirname(databasePath), 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  try {
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
  chmodSync(file, 0o600);
  return key;
}
