/**
 * Compressed request bodies (docs/api.md#conventions): `Content-Encoding: gzip` or `deflate` is
 * decompressed before the JSON is read, the body limit counts the decompressed bytes (a small
 * bomb is a 413 and the server goes on), and any other encoding is a 415 in the API's error
 * shape, where it used to be read as JSON and refused as garbage.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT } from '../../src/http/app.js';
import { sqliteBackend } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('compressed request bodies', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(sqliteBackend);
  });
  afterAll(async () => {
    await ctx.close();
  });

  const post = (url: string, payload: Buffer | string, encoding?: string) =>
    ctx.app.inject({
      method: 'POST',
      url,
      headers: {
        authorization: `Bearer ${ctx.apiKey}`,
        'content-type': 'application/json',
        ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
      },
      payload,
    });

  it('reads a gzip, x-gzip or deflate body as the JSON it holds, and identity as is', async () => {
    const cases: Array<[string, (b: Buffer) => Buffer]> = [
      ['gzip', gzipSync],
      ['GZip', gzipSync],
      ['x-gzip', gzipSync],
      ['deflate', deflateSync],
      ['identity', (b) => b],
    ];
    for (const [encoding, encode] of cases) {
      const name = `Agent ${encoding}`;
      const res = await post('/api/v1/agents', encode(Buffer.from(JSON.stringify({ name }))), encoding);
      expect(res.statusCode, `${encoding}: ${res.body}`).toBe(201);
      expect(res.json().name).toBe(name);
    }
  });

  it('a compressed run with results is stored as sent', async () => {
    const agentId = (await post('/api/v1/agents', JSON.stringify({ name: 'CI' }))).json().id;
    const results = Array.from({ length: 500 }, (_, i) => ({
      name: `test ${i}`,
      status: i % 10 === 0 ? 'failed' : 'passed',
    }));
    const body = gzipSync(JSON.stringify({ agent_id: agentId, status: 'failed', results }));
    const res = await post('/api/v1/runs', body, 'gzip');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ passed_count: 450, failed_count: 50, total_scenarios: 500 });
  });

  it('refuses other encodings with a 415 naming the accepted ones, and stores nothing', async () => {
    for (const encoding of ['br', 'compress', 'gzip, br']) {
      const res = await post(
        '/api/v1/agents',
        gzipSync(JSON.stringify({ name: `Not ${encoding}` })),
        encoding,
      );
      expect(res.statusCode, res.body).toBe(415);
      expect(res.json()).toEqual({
        error: expect.stringContaining(encoding),
        code: 'UNSUPPORTED_MEDIA_TYPE',
        details: { accepted: ['gzip', 'deflate', 'identity'] },
      });
    }
    const list = await ctx.api('GET', '/api/v1/agents?limit=100');
    expect(
      list.body.agents.map((a: { name: string }) => a.name).filter((n: string) => n.startsWith('Not ')),
    ).toEqual([]);
  });

  it('a body that is not what its encoding says is a 400 INVALID_JSON', async () => {
    const res = await post('/api/v1/agents', JSON.stringify({ name: 'plain' }), 'gzip');
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_JSON', error: expect.stringContaining('gzip') });
  });

  it('a request with the header and no body to read is answered, and the server goes on (real HTTP)', async () => {
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const headers = { authorization: `Bearer ${ctx.apiKey}`, 'content-encoding': 'gzip' };
    const list = await fetch(`${address}/api/v1/agents?limit=1`, { headers });
    expect(list.status).toBe(200);
    const run = (
      await ctx.api('POST', '/api/v1/runs', {
        agent_id: (await ctx.api('GET', '/api/v1/agents')).body.agents[0].id,
      })
    ).body;
    // A POST without a body: optional bodies (cancel) work as without the header.
    const canceled = await fetch(`${address}/api/v1/runs/${run.id}/cancel`, { method: 'POST', headers });
    expect(canceled.status, await canceled.clone().text()).toBe(200);
    // A body with no content type is never parsed (415); its broken gzip must not end the process.
    const unread = await fetch(`${address}/api/v1/agents`, { method: 'POST', headers, body: 'not gzip' });
    expect(unread.status).toBe(415);
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
  });

  it('counts the limit after decompression: 50 MB of zeros in 50 kB of gzip is a 413, and the app goes on', async () => {
    const bomb = gzipSync(Buffer.alloc(50_000_000));
    expect(bomb.length).toBeLessThan(BODY_LIMIT);
    const res = await post('/api/v1/agents', bomb, 'gzip');
    expect(res.statusCode, res.body).toBe(413);
    expect(res.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      error: expect.stringContaining('decompressed'),
    });
    const after = await post('/api/v1/agents', gzipSync(JSON.stringify({ name: 'After the bomb' })), 'gzip');
    expect(after.statusCode, after.body).toBe(201);
  });
});
