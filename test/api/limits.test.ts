/**
 * The length and count limits of docs/api.md#conventions, as behaviour: a value exactly at each
 * limit is stored and read back whole, one past it is a 400 INVALID_FIELD_VALUE naming the field,
 * and the refused request leaves the stored object as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const chars = (n: number, c = 'a') => c.repeat(n);
/** A loopback URL (allowed in the tests) of exactly `length` characters. */
const urlOf = (length: number) => {
  const base = 'http://127.0.0.1:9/';
  return base + chars(length - base.length, 'p');
};
const headersOf = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`X-Custom-${i}`, `v${i}`]));

for (const backend of backends) {
  describe(`limits [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
    });
    afterAll(async () => {
      await ctx.close();
    });

    const refused = async (method: string, path: string, body: unknown, field: string): Promise<void> => {
      const res = await ctx.api(method, path, body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.code).toBe('INVALID_FIELD_VALUE');
      expect(res.body.details?.field).toBe(field);
    };

    it('agent name ≤ 200 characters (counted as characters, not UTF-16 units), description ≤ 2,000', async () => {
      const atLimit = await ctx.api('POST', '/api/v1/agents', {
        name: chars(200),
        description: chars(2000),
      });
      expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(201);
      expect(atLimit.body.name).toBe(chars(200));
      expect(atLimit.body.description).toBe(chars(2000));
      const emoji = await ctx.api('POST', '/api/v1/agents', { name: chars(200, '😀') });
      expect(emoji.status, JSON.stringify(emoji.body)).toBe(201);
      expect(emoji.body.name).toBe(chars(200, '😀'));

      await refused('POST', '/api/v1/agents', { name: chars(201, 'b') }, 'name');
      await refused('POST', '/api/v1/agents', { name: chars(201, '😀') }, 'name');
      await refused('POST', '/api/v1/agents', { name: 'c', description: chars(2001) }, 'description');
      await refused('PUT', `/api/v1/agents/${atLimit.body.id}`, { description: chars(2001) }, 'description');
      const names = (await ctx.api('GET', '/api/v1/agents?limit=100')).body.agents.map(
        (a: { name: string }) => a.name,
      );
      expect(names.sort()).toEqual([chars(200), chars(200, '😀')].sort());
      expect((await ctx.api('GET', `/api/v1/agents/${atLimit.body.id}`)).body.description).toBe(chars(2000));
    });

    it('run name ≤ 200 characters', async () => {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'runs' });
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, name: chars(200) });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      expect(run.body.name).toBe(chars(200));
      await refused('POST', '/api/v1/runs', { agent_id: agent.body.id, name: chars(201) }, 'name');
      expect((await ctx.api('GET', `/api/v1/runs?agent_id=${agent.body.id}`)).body.total).toBe(1);
    });

    it('webhook URL ≤ 2,048, description ≤ 2,000, ≤ 10 headers of name ≤ 256 and value ≤ 4,096, secret 8–256', async () => {
      const atLimit = {
        url: urlOf(2048),
        description: chars(2000),
        secret: chars(256, 's'),
        headers: { ...headersOf(9), [chars(256, 'H')]: chars(4096, 'v') },
      };
      expect(Object.keys(atLimit.headers)).toHaveLength(10);
      const created = await ctx.api('POST', '/api/v1/webhooks', atLimit);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id as string;
      const stored = (await ctx.api('GET', `/api/v1/webhooks/${id}`)).body;
      expect(stored.url).toBe(atLimit.url);
      expect(stored.description).toBe(atLimit.description);
      expect(stored.headers).toEqual(atLimit.headers);
      expect(stored.has_secret).toBe(true);
      // The shortest secret is accepted too.
      const shortSecret = await ctx.api('PATCH', `/api/v1/webhooks/${id}`, { secret: chars(8, 't') });
      expect(shortSecret.status, JSON.stringify(shortSecret.body)).toBe(200);
      const before = shortSecret.body;

      const path = `/api/v1/webhooks/${id}`;
      await refused('PATCH', path, { url: urlOf(2049) }, 'url');
      await refused('PATCH', path, { description: chars(2001) }, 'description');
      await refused('PATCH', path, { secret: chars(7, 's') }, 'secret');
      await refused('PATCH', path, { secret: chars(257, 's') }, 'secret');
      const eleven = await ctx.api('PATCH', path, { headers: headersOf(11) });
      expect(eleven.status, JSON.stringify(eleven.body)).toBe(400);
      expect(eleven.body.code).toBe('INVALID_FIELD_VALUE');
      expect(String(eleven.body.details?.field)).toMatch(/^headers/);
      for (const headers of [{ [chars(257, 'H')]: 'v' }, { 'X-Long': chars(4097, 'v') }]) {
        const res = await ctx.api('PATCH', path, { headers });
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body.code).toBe('INVALID_FIELD_VALUE');
        expect(String(res.body.details?.field)).toMatch(/^headers/);
      }
      // None of the refused updates changed anything.
      const after = (await ctx.api('GET', path)).body;
      expect(after.url).toBe(atLimit.url);
      expect(after.description).toBe(atLimit.description);
      expect(after.headers).toEqual(atLimit.headers);
      expect(after).toEqual(before);
    });
  });
}
