import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

/** Every error code of docs/api.md#errors, each with its status and the `{error, code, details?}` shape. */
for (const backend of backends) {
  describe(`error codes [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'A' })).body.id;
    });
    afterAll(async () => {
      await ctx.close();
    });

    const expectError = (res: { status: number; body: any }, status: number, code: string) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.code).toBe(code);
      expect(typeof res.body.error).toBe('string');
      expect(res.body.error.length).toBeGreaterThan(0);
      expect(Object.keys(res.body).every((k) => ['error', 'code', 'details'].includes(k))).toBe(true);
    };

    it('400 MISSING_REQUIRED_FIELD names the field', async () => {
      const res = await ctx.api('POST', '/api/v1/webhooks', { description: 'no url' });
      expectError(res, 400, 'MISSING_REQUIRED_FIELD');
      expect(res.body.details).toEqual({ field: 'url' });
      expectError(await ctx.api('POST', '/api/v1/agents', {}), 400, 'MISSING_REQUIRED_FIELD');
      expectError(await ctx.api('POST', '/api/v1/runs', { name: 'x' }), 400, 'MISSING_REQUIRED_FIELD');
    });

    it('400 INVALID_FIELD_VALUE for wrong types, unknown fields, bad enums and bad URLs', async () => {
      const wrongType = await ctx.api('POST', '/api/v1/agents', { name: 42 });
      expectError(wrongType, 400, 'INVALID_FIELD_VALUE');
      expect(wrongType.body.details.field).toBe('name');
      const unknown = await ctx.api('POST', '/api/v1/agents', { name: 'B', colour: 'red' });
      expectError(unknown, 400, 'INVALID_FIELD_VALUE');
      expect(unknown.body.details.field).toBe('colour');
      expectError(
        await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com', format: 'xml' }),
        400,
        'INVALID_FIELD_VALUE',
      );
      const ssrf = await ctx.api('POST', '/api/v1/webhooks', { url: 'http://169.254.169.254/latest' });
      expectError(ssrf, 400, 'INVALID_FIELD_VALUE');
      expect(ssrf.body.details.field).toBe('url');
      // The refusal says how an operator allows a private receiver on purpose.
      expect(ssrf.body.error).toContain('RUNHOOK_ALLOWED_CIDRS');
      const loopback = await ctx.api('POST', '/api/v1/webhooks', { url: 'http://10.1.2.3/hook' });
      expect(loopback.body.error).toMatch(/private.*RUNHOOK_ALLOWED_CIDRS/);
      expectError(await ctx.api('GET', '/api/v1/runs?limit=abc'), 400, 'INVALID_FIELD_VALUE');
      expectError(await ctx.api('GET', '/api/v1/runs?status=done'), 400, 'INVALID_FIELD_VALUE');
    });

    it('400 INVALID_JSON for malformed JSON and non-object bodies', async () => {
      expectError(await ctx.api('POST', '/api/v1/agents', '{"name": '), 400, 'INVALID_JSON');
      expectError(await ctx.api('POST', '/api/v1/agents', '[1,2]'), 400, 'INVALID_JSON');
      expectError(await ctx.api('POST', '/api/v1/agents', '"text"'), 400, 'INVALID_JSON');
    });

    it('401 UNAUTHORIZED without, with a malformed, or with an unknown key', async () => {
      expectError(await ctx.api('GET', '/api/v1/agents', undefined, null), 401, 'UNAUTHORIZED');
      expectError(await ctx.api('GET', '/api/v1/agents', undefined, 'nonsense'), 401, 'UNAUTHORIZED');
      expectError(
        await ctx.api('GET', '/api/v1/agents', undefined, `sk_live_${'a'.repeat(40)}`),
        401,
        'UNAUTHORIZED',
      );
    });

    it('404 NOT_FOUND / AGENT_NOT_FOUND / RUN_NOT_FOUND, also for unknown routes', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      expectError(await ctx.api('GET', `/api/v1/webhooks/${missing}`), 404, 'NOT_FOUND');
      expectError(await ctx.api('GET', `/api/v1/deliveries/${missing}`), 404, 'NOT_FOUND');
      expectError(await ctx.api('GET', `/api/v1/agents/${missing}`), 404, 'AGENT_NOT_FOUND');
      expectError(await ctx.api('GET', `/api/v1/runs/${missing}`), 404, 'RUN_NOT_FOUND');
      expectError(await ctx.api('GET', '/api/v1/runs/not-a-uuid'), 404, 'RUN_NOT_FOUND');
      expectError(await ctx.api('POST', '/api/v1/runs', { agent_id: missing }), 404, 'AGENT_NOT_FOUND');
      expectError(await ctx.api('GET', '/api/v1/nothing-here'), 404, 'NOT_FOUND');
    });

    it('405 METHOD_NOT_ALLOWED with an Allow header', async () => {
      const res = await ctx.api('DELETE', '/api/v1/runs');
      expectError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(String(res.headers.allow)).toContain('GET');
      expectError(await ctx.api('PUT', '/api/v1/deliveries'), 405, 'METHOD_NOT_ALLOWED');
    });

    it('a body sent where no route is gets the 404 or 405, however bad the body', async () => {
      const bodies = [
        '{"name": ',
        JSON.stringify({ name: 'x\u0000y' }),
        JSON.stringify({ description: 'y'.repeat(1_100_000) }),
      ];
      for (const body of bodies) {
        expectError(await ctx.api('POST', '/api/v1/nothing-here', body), 404, 'NOT_FOUND');
        expectError(await ctx.api('DELETE', '/api/v1/runs', body), 405, 'METHOD_NOT_ALLOWED');
      }
      // Without a key too: there is nothing to authenticate for.
      const anonymous = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/nothing-here',
        headers: { 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      expect(anonymous.statusCode).toBe(404);
      expect(anonymous.json()).toMatchObject({ code: 'NOT_FOUND' });
    });

    it('409 ALREADY_EXISTS and INVALID_STATE', async () => {
      expectError(await ctx.api('POST', '/api/v1/agents', { name: 'A' }), 409, 'ALREADY_EXISTS');
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });
      expect(
        (await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, { status: 'completed' })).status,
      ).toBe(200);
      expectError(
        await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, { status: 'failed' }),
        409,
        'INVALID_STATE',
      );
      expectError(await ctx.api('POST', `/api/v1/runs/${run.body.id}/cancel`), 409, 'INVALID_STATE');
      // Invalid and conflicting at once: the 400 wins.
      expectError(
        await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
          status: 'completed',
          passed_count: -1,
        }),
        400,
        'INVALID_FIELD_VALUE',
      );
    });

    it('413 PAYLOAD_TOO_LARGE', async () => {
      const big = JSON.stringify({ name: 'x', description: 'y'.repeat(1_100_000) });
      expectError(await ctx.api('POST', '/api/v1/agents', big), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/agents',
        headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'text/plain' },
        payload: 'name=A',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      const form = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/agents',
        headers: {
          authorization: `Bearer ${ctx.apiKey}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: 'name=A',
      });
      expect(form.statusCode).toBe(415);
    });

    it('total_scenarios below the sum of counts is a 400; completed_at before started_at too', async () => {
      const res = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        passed_count: 5,
        failed_count: 1,
        total_scenarios: 4,
      });
      expectError(res, 400, 'INVALID_FIELD_VALUE');
      expect(res.body.details.field).toBe('total_scenarios');
      const early = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        started_at: '2026-01-30T10:30:00Z',
        completed_at: '2026-01-30T10:00:00Z',
      });
      expectError(early, 400, 'INVALID_FIELD_VALUE');
    });

    it('414 INVALID_FIELD_VALUE, not the framework body, for a path segment or URL that is too long', async () => {
      const longSegment = await ctx.api('GET', `/api/v1/runs/${'a'.repeat(2000)}`);
      expectError(longSegment, 414, 'INVALID_FIELD_VALUE');
      expect(JSON.stringify(longSegment.body)).not.toContain('FST_');
      expect(longSegment.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expectError(
        await ctx.api('GET', `/api/v1/runs?status=${'x'.repeat(9000)}`),
        414,
        'INVALID_FIELD_VALUE',
      );
      // Bad percent-encoding is the framework's too.
      const badUrl = await ctx.api('GET', '/api/v1/runs/%E0%A4%A');
      expectError(badUrl, 400, 'INVALID_FIELD_VALUE');
      expect(JSON.stringify(badUrl.body)).not.toContain('FST_');
    });

    it('400 for limit and offset out of range (offset=1e20 included), on every list', async () => {
      for (const list of ['agents', 'runs', 'webhooks', 'deliveries', 'api-keys']) {
        for (const query of [
          'offset=1e20',
          'offset=99999999999999999999999',
          'offset=-1',
          'offset=1.5',
          'limit=0',
          'limit=101',
          'limit=1e20',
          'limit=Infinity',
        ]) {
          const res = await ctx.api('GET', `/api/v1/${list}?${query}`);
          expectError(res, 400, 'INVALID_FIELD_VALUE');
          expect(res.body.details.field).toBe(query.split('=')[0]);
        }
        const edge = await ctx.api('GET', `/api/v1/${list}?limit=100&offset=1000000000`);
        expect(edge.status, JSON.stringify(edge.body)).toBe(200);
        expect(edge.body).toMatchObject({ total: expect.any(Number), limit: 100, offset: 1_000_000_000 });
      }
      expectError(
        await ctx.api('GET', `/api/v1/webhooks/${agentId}/deliveries?offset=1e20`),
        400,
        'INVALID_FIELD_VALUE',
      );
    });

    it('400 for text containing NUL, in a body, a query or a path, and nothing is stored', async () => {
      const before = (await ctx.api('GET', '/api/v1/agents')).body.total;
      const name = await ctx.api('POST', '/api/v1/agents', { name: 'nul\u0000name' });
      expectError(name, 400, 'INVALID_FIELD_VALUE');
      expect(name.body.details.field).toBe('name');
      expectError(
        await ctx.api('POST', '/api/v1/agents', { name: 'ok', description: 'a\u0000' }),
        400,
        'INVALID_FIELD_VALUE',
      );
      expect((await ctx.api('GET', '/api/v1/agents')).body.total).toBe(before);
      expectError(
        await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, name: '\u0000' }),
        400,
        'INVALID_FIELD_VALUE',
      );
      expectError(await ctx.api('POST', '/api/v1/api-keys', { name: 'k\u0000' }), 400, 'INVALID_FIELD_VALUE');
      const key = await ctx.api('POST', '/api/v1/agents', JSON.stringify({ 'bad\u0000key': 1 }));
      expectError(key, 400, 'INVALID_FIELD_VALUE');
      expectError(await ctx.api('GET', '/api/v1/runs?status=%00'), 400, 'INVALID_FIELD_VALUE');
      expectError(await ctx.api('GET', '/api/v1/runs/TR-%00'), 400, 'INVALID_FIELD_VALUE');
    });

    it('400 for a custom header named like an object key (__proto__, constructor, prototype)', async () => {
      for (const name of ['__proto__', 'constructor', 'prototype', '__PROTO__']) {
        const res = await ctx.api(
          'POST',
          '/api/v1/webhooks',
          // As raw JSON: an object literal with __proto__ would set a prototype, not a key.
          `{"url":"https://example.com/proto","agent_id":"${agentId}","headers":{"${name}":"v"}}`,
        );
        expectError(res, 400, 'INVALID_FIELD_VALUE');
        expect(res.body.details.field).toBe(`headers.${name}`);
      }
      expect((await ctx.api('GET', `/api/v1/webhooks?agent_id=${agentId}`)).body.total).toBe(0);
    });

    it('431 and 400 from the HTTP parser itself are in the one shape, with the security headers', async () => {
      await ctx.app.listen({ host: '127.0.0.1', port: 0 });
      const address = ctx.app.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1');
          let answer = '';
          socket.on('data', (d) => {
            answer += d.toString();
          });
          socket.on('error', () => resolve(answer));
          socket.on('close', () => resolve(answer));
          socket.setTimeout(10_000, () => reject(new Error('no answer')));
          socket.write(request);
        });
      const parse = (answer: string) => {
        const [head = '', body = ''] = answer.split('\r\n\r\n');
        return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: JSON.parse(body) };
      };
      const big = parse(
        await raw(`GET /api/v1/agents HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      );
      expectError(big, 431, 'INVALID_FIELD_VALUE');
      expect(big.head).toContain('x-content-type-options: nosniff');
      expect(big.head).toContain("content-security-policy: default-src 'self'");
      const garbage = parse(await raw('NOT HTTP AT ALL\r\n\r\n'));
      expectError(garbage, 400, 'INVALID_FIELD_VALUE');
    });

    it('healthz and readyz need no key', async () => {
      expect((await ctx.api('GET', '/healthz', undefined, null)).status).toBe(200);
      expect((await ctx.api('GET', '/readyz', undefined, null)).status).toBe(200);
    });
  });
}

describe('429 RATE_LIMITED', () => {
  it('holds an organization, all its keys together, to RUNHOOK_RATE_LIMIT requests a second', async () => {
    // The app's clock, moved forward instead of sleeping while the bucket refills.
    let skew = 0;
    const ctx = await createTestContext(backends[0]!, {
      env: { RUNHOOK_RATE_LIMIT: '5' },
      now: () => Date.now() + skew,
    });
    try {
      // Ten keys, then two requests with each: a per-key limit (burst 10 each) would let all 20 through.
      const keys: string[] = [ctx.apiKey];
      while (keys.length < 10) {
        const made = await ctx.api('POST', '/api/v1/api-keys', { name: `k${keys.length}` });
        if (made.status === 201) keys.push(made.body.key);
        else {
          expect(made.status).toBe(429);
          skew += 1_100;
        }
      }
      skew += 2_100; // the bucket refills (burst of 10)
      const round = [];
      for (const key of [...keys, ...keys])
        round.push((await ctx.api('GET', '/api/v1/agents', undefined, key)).status);
      expect(round.filter((s) => s === 200).length).toBeLessThanOrEqual(11);
      expect(round.filter((s) => s === 429).length).toBeGreaterThanOrEqual(9);
    } finally {
      await ctx.close();
    }
  });

  it('holds an API key to RUNHOOK_RATE_LIMIT requests a second, with Retry-After', async () => {
    const ctx = await createTestContext(backends[0]!, { env: { RUNHOOK_RATE_LIMIT: '5' } });
    try {
      const answers = [];
      for (let i = 0; i < 15; i++) answers.push(await ctx.api('GET', '/api/v1/agents'));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers[0]?.status).toBe(200);
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]?.body.code).toBe('RATE_LIMITED');
      expect(Number(limited[0]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another organization has its own budget.
      const other = await ctx.newOrg();
      expect((await ctx.api('GET', '/api/v1/agents', undefined, other.apiKey)).status).toBe(200);
    } finally {
      await ctx.close();
    }
  });
});
