/**
 * A webhook URL whose host name resolves to a refused address (docs/delivery.md#ssrf-rules) is
 * refused without telling the tenant what it resolved to: that is the server's internal DNS. The
 * address goes to the server log only. The app's resolver is replaced by one that answers like an
 * internal DNS zone would (no test may reach a real resolver).
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/runtime.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const INTERNAL = '10.20.30.40';

for (const backend of backends) {
  describe(`SSRF refusals name the host, not its address [${backend.name}]`, () => {
    let ctx: TestContext;
    let app: FastifyInstance;
    const lines: string[] = [];
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      lines.length = 0;
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      });
      app = await buildApp({
        store: ctx.rt.store,
        config: ctx.config,
        secretBox: ctx.rt.secretBox,
        send: ctx.rt.send,
        logger: createLogger({ logLevel: 'info' }, stream),
        resolveHost: async (host) => (host === 'ci.corp.example' ? [INTERNAL] : ['93.184.215.14']),
      });
    });
    afterEach(async () => {
      await app.close();
      await ctx.close();
    });

    const call = (method: 'POST' | 'PATCH', url: string, body: unknown) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });

    it('on create and on update: 400 "url host … is not a public address"; the log has the address', async () => {
      const created = await call('POST', '/api/v1/webhooks', { url: 'https://ci.corp.example/hook' });
      const good = await call('POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/hook' });
      expect(good.statusCode).toBe(201);
      const updated = await call('PATCH', `/api/v1/webhooks/${good.json().id}`, {
        url: 'https://ci.corp.example/hook',
      });
      for (const res of [created, updated]) {
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'url' } });
        expect(res.json().error).toMatch(/^url host ci\.corp\.example is not a public address; /);
        expect(res.body).not.toContain(INTERNAL);
        expect(res.body).not.toMatch(/private|resolves/);
      }
      const logged = lines
        .map((l) => JSON.parse(l) as { msg?: string; host?: string; address?: string })
        .filter((r) => r.msg?.startsWith('webhook url refused'));
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatchObject({ host: 'ci.corp.example', address: INTERNAL });
    });
  });
}
