/**
 * Security headers on every kind of answer of a real `runhook serve` process: API success and
 * errors (the HTTP layer's own too), the dashboard and its assets, /docs, /openapi.json, /metrics
 * and the health probes. The browser side (no CSP violation) is test/web/csp.test.ts.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../web/harness.js';

const EXPECTED = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function expectSecure(headers: Headers, what: string) {
  const csp = headers.get('content-security-policy') ?? '';
  const directives = csp.split(';').map((d) => d.trim());
  expect(directives, `${what}: ${csp}`).toContain("default-src 'self'");
  expect(directives, what).toContain("frame-ancestors 'none'");
  // Nothing loosens script execution.
  expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  for (const [name, value] of Object.entries(EXPECTED))
    expect(headers.get(name), `${what}: ${name}`).toBe(value);
}

describe('security headers on every response of a running server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['GET', '/api/v1/agents', true, 200],
    ['GET', '/api/v1/agents', false, 401],
    ['GET', '/api/v1/runs?offset=1e20', true, 400],
    ['DELETE', '/api/v1/runs', true, 405],
    ['GET', '/api/v1/nothing', true, 404],
    ['GET', `/api/v1/runs/${'a'.repeat(2000)}`, true, 414],
    ['GET', '/api/v1/runs/%E0%A4%A', true, 400],
    ['POST', '/api/v1/agents', true, 415],
    ['GET', '/', false, 200],
    ['GET', '/runs/some-run', false, 200],
    ['GET', '/docs', false, 200],
    ['GET', '/docs/static/swagger-ui-bundle.js', false, 200],
    ['GET', '/openapi.json', false, 200],
    ['GET', '/metrics', false, 200],
    ['GET', '/healthz', false, 200],
    ['GET', '/readyz', false, 200],
  ] as const)('%s %s (key: %s) → %i with the headers', async (method, path, withKey, status) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: withKey ? { authorization: `Bearer ${server.apiKey}`, 'content-type': 'text/plain' } : {},
      body: method === 'POST' ? 'x' : undefined,
    });
    // /docs may redirect to /docs/ first; the redirect carries the headers too.
    if (path === '/docs' && res.status >= 300 && res.status < 400) expectSecure(res.headers, 'redirect');
    else expect(res.status).toBe(status);
    expectSecure(res.headers, `${method} ${path}`);
    if (res.status >= 400) {
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).every((k) => ['error', 'code', 'details'].includes(k))).toBe(true);
    }
  });

  it('the dashboard assets too', async () => {
    const html = await (await fetch(`${server.baseUrl}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const res = await fetch(`${server.baseUrl}${asset}`);
    expect(res.status).toBe(200);
    expectSecure(res.headers, asset ?? '');
  });

  it('431 from the HTTP parser carries them, in the one error shape', async () => {
    const { port } = new URL(server.baseUrl);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head.toLowerCase()).toContain("frame-ancestors 'none'");
    expect(head.toLowerCase()).toContain('referrer-policy: no-referrer');
    expect(JSON.parse(body)).toMatchObject({ code: 'INVALID_FIELD_VALUE' });
  });
});
