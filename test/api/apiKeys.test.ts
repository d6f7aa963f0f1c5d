/**
 * Revoking API keys through the API never locks an organization out, and an organization holds at
 * most 100 active keys (docs/api.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

for (const backend of backends) {
  describe(`API keys: the last active key (${backend.name})`, () => {
    let ctx: TestContext;
    /** How far the app's clock is ahead of the real one: a test moves it instead of sleeping. */
    let ahead = 0;
    beforeEach(async () => {
      ahead = 0;
      ctx = await createTestContext(backend, { now: () => Date.now() + ahead });
    });
    afterEach(async () => {
      await ctx.close();
    });

    const keyIds = async (key = ctx.apiKey) =>
      ((await ctx.api('GET', '/api/v1/api-keys', undefined, key)).body.api_keys as Array<{ id: string }>).map(
        (k) => k.id,
      );

    it("revoking the organization's last active key is 409 INVALID_STATE and the key keeps working", async () => {
      const [only] = await keyIds();
      const res = await ctx.api('DELETE', `/api/v1/api-keys/${only}`);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'INVALID_STATE' });
      expect(res.body.error).toContain('last active API key');
      expect((await ctx.api('GET', '/api/v1/agents')).status).toBe(200);
    });

    it('an expired key does not count as active: the last unexpired one is kept', async () => {
      const soon = new Date(Date.now() + 3_000).toISOString();
      const expiring = await ctx.api('POST', '/api/v1/api-keys', { name: 'short', expires_at: soon });
      expect(expiring.status).toBe(201);
      expect((await ctx.api('GET', '/api/v1/agents', undefined, expiring.body.key)).status).toBe(200);
      ahead = 3_100;
      // Past its expiry it signs nothing in.
      const late = await ctx.api('GET', '/api/v1/agents', undefined, expiring.body.key);
      expect(late.status).toBe(401);
      const [bootstrap] = (await keyIds()).filter((id) => id !== expiring.body.id);
      expect((await ctx.api('DELETE', `/api/v1/api-keys/${bootstrap}`)).status).toBe(409);
      // The expired one itself can be revoked: it authenticates nothing.
      expect((await ctx.api('DELETE', `/api/v1/api-keys/${expiring.body.id}`)).status).toBe(204);
    });

    it('two concurrent revocations of the last two keys: one succeeds, the other is refused', async () => {
      const second = await ctx.api('POST', '/api/v1/api-keys', { name: 'second' });
      const ids = await keyIds();
      expect(ids).toHaveLength(2);
      const answers = await Promise.all(
        ids.map((id) => ctx.api('DELETE', `/api/v1/api-keys/${id}`, undefined, second.body.key)),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([204, 409]);
      // Whichever went first, exactly one key is left, and it works.
      const works = await Promise.all(
        [ctx.apiKey, second.body.key].map(
          async (k) => (await ctx.api('GET', '/api/v1/agents', undefined, k)).status === 200,
        ),
      );
      expect(works.filter(Boolean)).toHaveLength(1);
      expect(await keyIds(works[0] ? ctx.apiKey : second.body.key)).toHaveLength(1);
    });

    it('an organization holds at most 100 active keys: the 101st is 409 INVALID_STATE, even concurrently', async () => {
      // The bootstrap key is the first; 99 more fill the organization, 5 concurrent ones find it full.
      for (let i = 0; i < 99; i += 33) {
        const made = await Promise.all(
          Array.from({ length: 33 }, (_, j) => ctx.api('POST', '/api/v1/api-keys', { name: `k${i + j}` })),
        );
        expect(made.map((r) => r.status)).toEqual(Array(33).fill(201));
      }
      const extra = await Promise.all(
        Array.from({ length: 5 }, () => ctx.api('POST', '/api/v1/api-keys', { name: 'one too many' })),
      );
      for (const r of extra) {
        expect(r.status).toBe(409);
        expect(r.body).toMatchObject({ code: 'INVALID_STATE', details: { max_active_keys: 100 } });
      }
      const listed = await ctx.api('GET', '/api/v1/api-keys?limit=100&offset=0');
      expect(listed.body.total).toBe(100);
      // Another organization is not affected; a revoked key frees a place.
      const other = await ctx.newOrg();
      expect((await ctx.api('POST', '/api/v1/api-keys', { name: 'other' }, other.apiKey)).status).toBe(201);
      const victim = (listed.body.api_keys as Array<{ id: string; name: string }>).find(
        (k) => k.name === 'k0',
      )!;
      expect((await ctx.api('DELETE', `/api/v1/api-keys/${victim.id}`)).status).toBe(204);
      expect((await ctx.api('POST', '/api/v1/api-keys', { name: 'in its place' })).status).toBe(201);
      expect((await ctx.api('POST', '/api/v1/api-keys', { name: 'again too many' })).status).toBe(409);
    }, 60_000);
  });
}
