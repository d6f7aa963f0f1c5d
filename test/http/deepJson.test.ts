/**
 * A request body nested deeper than MAX_JSON_DEPTH is a 400 INVALID_JSON (docs/api.md#errors),
 * however deep: the body is inspected without recursion, so nothing overflows the stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectJson,
  MAX_JSON_DEPTH,
  mayHoldLoneSurrogate,
  replaceLoneSurrogates,
} from '../../src/http/validation.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const nested = (depth: number, open = '{"a":', close = '}') => `${open.repeat(depth)}1${close.repeat(depth)}`;

describe('replaceLoneSurrogates', () => {
  it('mends lone high and low surrogates and reversed pairs, keeps pairs, walks arrays and objects in place', () => {
    const body = {
      a: 'x\ud800',
      b: ['\udc00y', { c: '\ude00\ud83d', d: 'ok \ud83d\ude00' }],
      n: 1,
      z: null,
    };
    expect(replaceLoneSurrogates(body)).toBe(body);
    expect(body).toEqual({
      a: 'x\ufffd',
      b: ['\ufffdy', { c: '\ufffd\ufffd', d: 'ok 😀' }],
      n: 1,
      z: null,
    });
    expect(replaceLoneSurrogates('\udbff')).toBe('\ufffd');
    expect(replaceLoneSurrogates(7)).toBe(7);
  });
  it('is asked for only when the JSON text writes a surrogate as an escape', () => {
    expect(mayHoldLoneSurrogate(JSON.stringify({ a: 'x\ud800' }))).toBe(true);
    expect(mayHoldLoneSurrogate('{"a":"\\uDBFF"}')).toBe(true);
    expect(mayHoldLoneSurrogate(JSON.stringify({ a: 'ok 😀 \u00e9' }))).toBe(false);
    expect(mayHoldLoneSurrogate('{"a":"\\u0041\\ud7ff"}')).toBe(false);
  });
});

describe('inspectJson', () => {
  it('counts objects and arrays: 64 deep passes, 65 does not', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(inspectJson(JSON.parse(nested(64)))).toBeNull();
    expect(inspectJson(JSON.parse(nested(65)))).toEqual({ kind: 'too_deep' });
    expect(inspectJson(JSON.parse(nested(64, '[', ']')))).toBeNull();
    expect(inspectJson(JSON.parse(nested(65, '[', ']')))).toEqual({ kind: 'too_deep' });
  });
  it('walks a million levels without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(inspectJson(deep)).toEqual({ kind: 'too_deep' });
    expect(inspectJson(deep, Number.POSITIVE_INFINITY)).toBeNull();
  });
  it('finds the first NUL in document order, in a value or a key', () => {
    expect(inspectJson({ a: 'x', b: ['y', 'z\0'], c: '\0' })).toEqual({ kind: 'nul', field: 'b.1' });
    expect(inspectJson({ a: { 'k\0': 1 } })).toEqual({ kind: 'nul', field: 'a.k\0' });
    expect(inspectJson('\0')).toEqual({ kind: 'nul', field: 'body' });
  });
});

for (const backend of backends) {
  describe(`deeply nested bodies [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
    });
    afterAll(async () => {
      await ctx.close();
    });

    it.each([
      ['65 objects', nested(65)],
      ['150,000 objects', nested(150_000)],
      ['200,000 arrays inside a field', `{"name": ${nested(200_000, '[', ']')}}`],
    ])('%s → 400 INVALID_JSON', async (_label, body) => {
      for (const path of ['/api/v1/agents', '/api/v1/runs', '/api/v1/webhooks']) {
        const res = await ctx.app.inject({
          method: 'POST',
          url: path,
          headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
          payload: body,
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ code: 'INVALID_JSON', error: expect.stringContaining('64') });
      }
    });

    it('64 levels are not refused for their depth', async () => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/agents',
        headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
        payload: `{"name": "deep", "description": ${nested(63)}}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('INVALID_FIELD_VALUE');
      expect(res.json().details).toEqual({ field: 'description' });
    });
  });
}
