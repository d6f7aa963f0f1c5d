/**
 * The validators Fastify asks for (src/http/validation.ts): compiled at their route's first
 * request, not when the app is built, and carrying Ajv's reasons where Fastify reads them.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createValidatorCompiler } from '../../src/http/validation.js';
import { sqliteBackend } from '../helpers/backends.js';
import { createTestContext } from '../helpers/context.js';

describe('createValidatorCompiler', () => {
  it('compiles a schema at its first validation, not when Fastify asks for the validator', () => {
    const compile = createValidatorCompiler();
    // Ajv refuses an unknown type when it compiles: asking for the validator does not compile.
    const validate = compile({ schema: { type: 'no-such-type' }, httpPart: 'body' });
    expect(() => validate({})).toThrow(/no-such-type|type/);
  });

  it("every route's request schemas compile (they are compiled at first use, not at start)", async () => {
    const ctx = await createTestContext(sqliteBackend, { worker: false });
    try {
      await ctx.app.ready();
      // Throws on the first schema Ajv refuses.
      expect(ctx.app.compileAllValidators()).toBeGreaterThan(20);
    } finally {
      await ctx.close();
    }
  });

  it('a failed validation carries the reasons on the function, and a later success clears them', () => {
    const compile = createValidatorCompiler();
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' } },
      required: ['name'],
      additionalProperties: false,
    };
    const validate = compile({ schema, httpPart: 'body' }) as ((data: unknown) => boolean) & {
      errors?: Array<{ keyword: string; params: Record<string, unknown> }> | null;
    };
    expect(validate({ name: 7 })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'type' });
    expect(validate({ name: 'x' })).toBe(true);
    expect(validate.errors ?? null).toBeNull();
  });

  it('in Fastify: a bad body is a 400 naming the field, a query string is coerced', async () => {
    const app = Fastify();
    app.setValidatorCompiler(createValidatorCompiler());
    app.post(
      '/items',
      { schema: { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } },
      async (request) => request.body,
    );
    app.get(
      '/items',
      { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', default: 5 } } } } },
      async (request) => request.query,
    );
    try {
      const bad = await app.inject({ method: 'POST', url: '/items', payload: { n: 'seven' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toContain('/n');
      const ok = await app.inject({ method: 'POST', url: '/items', payload: { n: 7 } });
      expect(ok.json()).toEqual({ n: 7 });
      expect((await app.inject({ method: 'GET', url: '/items?limit=3' })).json()).toEqual({ limit: 3 });
      expect((await app.inject({ method: 'GET', url: '/items' })).json()).toEqual({ limit: 5 });
    } finally {
      await app.close();
    }
  });
});
