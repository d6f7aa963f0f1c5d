import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';

const WHPK = /^whpk_[A-Za-z0-9+/]{43}=$/;
const DAY_MS = 24 * 60 * 60 * 1000;
const URL = 'https://hooks.example.com/runhook';

for (const backend of backends) {
  describe(`signature_scheme on webhooks [${backend.name}]`, () => {
    let ctx: TestContext;
    // Whole seconds, so the expiry shown is exactly the clock plus a day.
    const start = Math.floor(Date.now() / 1000) * 1000;
    let clock = start;
    beforeEach(async () => {
      clock = start;
      ctx = await createTestContext(backend, {
        now: () => clock,
        env: { RUNHOOK_ALLOWED_CIDRS: '0.0.0.0/0' },
      });
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('defaults to hmac-sha256 with no public key', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL, secret: 'a-long-secret' });
      expect(hook.status).toBe(201);
      expect(hook.body).toMatchObject({
        signature_scheme: 'hmac-sha256',
        public_key: null,
        previous_public_key: null,
        previous_public_key_expires_at: null,
      });
    });

    it('ed25519 shows a whpk_ public key, never the private key, and keeps the private key sealed', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL, signature_scheme: 'ed25519' });
      expect(hook.status).toBe(201);
      expect(hook.body.signature_scheme).toBe('ed25519');
      expect(hook.body.public_key).toMatch(WHPK);
      expect(hook.body.has_secret).toBe(false);
      expect(JSON.stringify(hook.body)).not.toMatch(/private|signing_key/);
      const got = await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`);
      expect(got.body.public_key).toBe(hook.body.public_key);
      const listed = await ctx.api('GET', '/api/v1/webhooks');
      expect(listed.body.webhooks[0].public_key).toBe(hook.body.public_key);

      const raw = await openRawSql(ctx.db.url);
      try {
        const where = `FROM webhooks WHERE id = '${hook.body.id}'`;
        expect(await raw.count(`SELECT count(*) ${where} AND signing_key_enc LIKE 'v1:%'`)).toBe(1);
        // PKCS#8 DER of an ed25519 key starts with MC4CAQAw in base64: never stored in the clear.
        expect(await raw.count(`SELECT count(*) ${where} AND signing_key_enc LIKE '%MC4CAQAw%'`)).toBe(0);
      } finally {
        await raw.close();
      }
    });

    it('an unknown scheme is a 400 INVALID_FIELD_VALUE on create and update', async () => {
      const bad = await ctx.api('POST', '/api/v1/webhooks', { url: URL, signature_scheme: 'rsa' });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('INVALID_FIELD_VALUE');
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL });
      for (const method of ['PUT', 'PATCH']) {
        const res = await ctx.api(method, `/api/v1/webhooks/${hook.body.id}`, {
          signature_scheme: 'ED25519',
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('INVALID_FIELD_VALUE');
      }
      const same = await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`);
      expect(same.body.signature_scheme).toBe('hmac-sha256');
      // A secret that verifiers would read as a public key.
      const lookalike = await ctx.api('POST', '/api/v1/webhooks', {
        url: URL,
        secret: same.body.id.replace(/^/, 'whpk_'),
      });
      expect(lookalike.status).toBe(400);
      expect(lookalike.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'secret' } });
    });

    it('switching to ed25519 makes a pair, saving the same scheme keeps it, switching back drops it', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL, secret: 'a-long-secret' });
      const on = await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, { signature_scheme: 'ed25519' });
      expect(on.status).toBe(200);
      expect(on.body.public_key).toMatch(WHPK);
      expect(on.body.has_secret).toBe(true);
      expect(on.body.previous_public_key).toBeNull();

      const again = await ctx.api('PUT', `/api/v1/webhooks/${hook.body.id}`, {
        signature_scheme: 'ed25519',
        description: 'same scheme',
      });
      expect(again.body.public_key).toBe(on.body.public_key);

      const off = await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, {
        signature_scheme: 'hmac-sha256',
      });
      expect(off.body).toMatchObject({
        signature_scheme: 'hmac-sha256',
        public_key: null,
        previous_public_key: null,
      });
      const raw = await openRawSql(ctx.db.url);
      try {
        const dropped = `SELECT count(*) FROM webhooks WHERE id = '${hook.body.id}' AND signing_key_enc IS NULL AND previous_signing_key_enc IS NULL`;
        expect(await raw.count(dropped)).toBe(1);
      } finally {
        await raw.close();
      }

      // Back on: a fresh pair, not the dropped one.
      const back = await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, {
        signature_scheme: 'ed25519',
      });
      expect(back.body.public_key).toMatch(WHPK);
      expect(back.body.public_key).not.toBe(on.body.public_key);
      expect(back.body.previous_public_key).toBeNull();
    });

    it('rotate-key makes a new pair and shows the old public key until its grace ends', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL, signature_scheme: 'ed25519' });
      clock = start + 5_000;
      const rotated = await ctx.api('POST', `/api/v1/webhooks/${hook.body.id}/rotate-key`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.public_key).toMatch(WHPK);
      expect(rotated.body.public_key).not.toBe(hook.body.public_key);
      expect(rotated.body.previous_public_key).toBe(hook.body.public_key);
      expect(rotated.body.previous_public_key_expires_at).toBe(
        new Date(clock + DAY_MS).toISOString().replace('.000Z', 'Z'),
      );

      clock = start + 5_000 + DAY_MS - 1;
      expect((await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`)).body.previous_public_key).toBe(
        hook.body.public_key,
      );
      clock = start + 5_000 + DAY_MS;
      const later = await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`);
      expect(later.body.public_key).toBe(rotated.body.public_key);
      expect(later.body.previous_public_key).toBeNull();
      expect(later.body.previous_public_key_expires_at).toBeNull();
    });

    it('rotate-key on an hmac webhook is a 409 INVALID_STATE; an unknown webhook a 404', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: URL, secret: 'a-long-secret' });
      const res = await ctx.api('POST', `/api/v1/webhooks/${hook.body.id}/rotate-key`);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('INVALID_STATE');
      expect((await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`)).body.public_key).toBeNull();
      const missing = await ctx.api(
        'POST',
        '/api/v1/webhooks/00000000-0000-4000-8000-000000000000/rotate-key',
      );
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('NOT_FOUND');
      const other = await ctx.newOrg();
      const theirs = await ctx.api(
        'POST',
        '/api/v1/webhooks',
        { url: URL, signature_scheme: 'ed25519' },
        other.apiKey,
      );
      const cross = await ctx.api('POST', `/api/v1/webhooks/${theirs.body.id}/rotate-key`);
      expect(cross.status).toBe(404);
    });
  });
}
