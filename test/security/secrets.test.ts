import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/security/apiKeys.js';
import { createSecretBox, loadOrCreateKeyFile } from '../../src/security/secretBox.js';
import { sqliteBackend } from '../helpers/backends.js';
import { createTestContext } from '../helpers/context.js';

describe('secrets at rest', () => {
  it('AES-256-GCM round trip; a different key or a flipped byte fails', () => {
    const box = createSecretBox('a'.repeat(32));
    const sealed = box.seal('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(sealed).not.toContain('MfKQ9r8');
    expect(box.open(sealed)).toBe('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(box.seal('x')).not.toBe(box.seal('x'));
    expect(() => createSecretBox('b'.repeat(32)).open(sealed)).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`)).toThrow();
  });

  it('generates the SQLite key file once, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runhook-key-'));
    const first = loadOrCreateKeyFile(join(dir, 'runhook.db'));
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(join(dir, 'runhook.db'))).toBe(first);
  });

  it('API keys: sk_live_ + 40 alphanumerics, distinct, hashed with SHA-256', () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^sk_live_[A-Za-z0-9]{40}$/);
    expect(hashApiKey('sk_live_x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('neither the webhook secret nor the API key is stored in clear in the database file', async () => {
    const ctx = await createTestContext(sqliteBackend);
    try {
      const secret = 'plain-text-secret-that-must-not-leak';
      const created = await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/x', secret });
      expect(created.body.has_secret).toBe(true);
      expect(JSON.stringify(created.body)).not.toContain(secret);
      const path = ctx.db.url.slice('sqlite:'.length);
      const db = new Database(path, { readonly: true });
      const dump = JSON.stringify([
        db.prepare('SELECT * FROM webhooks').all(),
        db.prepare('SELECT * FROM api_keys').all(),
      ]);
      db.close();
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(ctx.apiKey);
      expect(readFileSync(path).includes(Buffer.from(secret))).toBe(false);
      // Clearing the secret works, and has_secret follows.
      const cleared = await ctx.api('PATCH', `/api/v1/webhooks/${created.body.id}`, { secret: null });
      expect(cleared.body.has_secret).toBe(false);
    } finally {
      await ctx.close();
    }
  });
});
