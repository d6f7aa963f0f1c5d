/**
 * Names (agent, run, API key, test suite) must show something: only whitespace, or a lone UTF-16
 * surrogate (no JSON encoder can write it back out; PostgreSQL refuses it), is a 400
 * INVALID_FIELD_VALUE naming the field (docs/api.md#errors), on both backends, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const BAD = [
  ['only spaces', '   '],
  ['only tabs and newlines', '\t\n \r'],
  ['a no-break space only', '\u00a0\u3000'],
  ['a lone high surrogate', 'Nightly \ud800'],
  ['a lone low surrogate', '\udc00 run'],
  ['a reversed pair', '\ude00\ud83d'],
] as const;

for (const backend of backends) {
  describe(`names that show nothing or are not text [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Existing' })).body.id;
    });
    afterAll(async () => {
      await ctx.close();
    });

    const requests = (value: string) =>
      [
        ['POST', '/api/v1/agents', { name: value }, 'name'],
        ['PATCH', `/api/v1/agents/${agentId}`, { name: value }, 'name'],
        ['POST', '/api/v1/runs', { agent_id: agentId, name: value }, 'name'],
        ['POST', '/api/v1/runs', { agent_id: agentId, test_suite_id: value }, 'test_suite_id'],
        ['POST', '/api/v1/api-keys', { name: value }, 'name'],
      ] as const;

    it.each(BAD)(
      '%s → 400 INVALID_FIELD_VALUE on every name field, nothing stored',
      async (_label, value) => {
        const before = JSON.stringify([
          (await ctx.api('GET', '/api/v1/agents')).body,
          (await ctx.api('GET', '/api/v1/runs')).body,
          (await ctx.api('GET', '/api/v1/api-keys')).body.total,
        ]);
        for (const [method, path, body, field] of requests(value)) {
          const res = await ctx.api(method, path, body);
          expect(res.status, `${method} ${path} ${JSON.stringify(res.body)}`).toBe(400);
          expect(res.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field } });
          expect(res.body.error).toContain('whitespace');
        }
        const after = JSON.stringify([
          (await ctx.api('GET', '/api/v1/agents')).body,
          (await ctx.api('GET', '/api/v1/runs')).body,
          (await ctx.api('GET', '/api/v1/api-keys')).body.total,
        ]);
        expect(after).toBe(before);
      },
    );

    it('names with emoji, inner spaces and non-Latin scripts are fine', async () => {
      for (const value of ['😀 Nightly run', ' padded ', 'Ночной прогон', '夜間テスト']) {
        const res = await ctx.api('POST', '/api/v1/runs', {
          agent_id: agentId,
          name: value,
          test_suite_id: value,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.name).toBe(value);
      }
    });
  });
}
