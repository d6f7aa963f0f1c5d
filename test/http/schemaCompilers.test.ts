/**
 * The validators and serializers Fastify asks for (src/http/validation.ts, serialization.ts):
 * compiled at their route's first request or answer, not when the app is built; the validators
 * carry Ajv's reasons where Fastify reads them.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createSerializerCompiler } from '../../src/http/serialization.js';
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

  it("every route's request and response schemas compile (they are compiled at first use, not at start)", async () => {
    const ctx = await createTestContext(sqliteBackend, { worker: false });
    try {
      await ctx.app.ready();
      // Each throws on the first schema Ajv or fast-json-stringify refuses.
      expect(ctx.app.compileAllValidators()).toBeGreaterThan(20);
      expect(ctx.app.compileAllSerializers()).toBeGreaterThan(20);
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

describe('createSerializerCompiler', () => {
  it('compiles a schema at its first answer, not when Fastify asks for the serializer', () => {
    const compile = createSerializerCompiler();
    // fast-json-stringify refuses an unknown type when it compiles: asking for it does not.
    const serialize = compile({ schema: { type: 'no-such-type' } });
    expect(() => serialize({})).toThrow();
    expect(compile.compileAll).toThrow();
  });

  it('in Fastify: an answer is written as its response schema says, per status code', async () => {
    const app = Fastify();
    app.setSerializerCompiler(createSerializerCompiler());
    const item = {
      type: 'object',
      properties: { id: { type: 'string' }, count: { type: 'integer' } },
      required: ['id'],
    };
    app.get(
      '/items/:id',
      {
        schema: {
          response: { 200: item, 404: { type: 'object', properties: { error: { type: 'string' } } } },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        if (id === 'none') return reply.code(404).send({ error: 'no such item', stack: 'hidden' });
        return { id, count: 3, internal: 'not in the schema' };
      },
    );
    try {
      const found = await app.inject({ method: 'GET', url: '/items/a' });
      expect(found.statusCode).toBe(200);
      expect(found.body).toBe('{"id":"a","count":3}');
      const missing = await app.inject({ method: 'GET', url: '/items/none' });
      expect(missing.statusCode).toBe(404);
      expect(missing.body).toBe('{"error":"no such item"}');
      expect((await app.inject({ method: 'GET', url: '/items/b' })).json()).toEqual({ id: 'b', count: 3 });
    } finally {
      await app.close();
    }
  });
});
