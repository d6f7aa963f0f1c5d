import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker, type Worker } from '../../src/delivery/deliveryWorker.js';
import { createLogger } from '../../src/runtime.js';
import { redactSecretsInText } from '../../src/security/logRedaction.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type ServedApp, serveApp } from './serveApp.js';

/** A pino destination that keeps every line. */
function captureStream() {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      done();
    },
  });
  return { stream, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRET = 'whsec_c3VwZXItc2VjcmV0LXNpZ25pbmcta2V5LTE=';
const NEW_SECRET = 'rotated-secret-value-2';
const PROVIDER_KEY = 'va_provider-config-key-9f8e7d';

for (const backend of backends) {
  describe(`logs [${backend.name}]`, () => {
    let ctx: TestContext;
    let served: ServedApp;
    let receiver: Receiver;
    let worker: Worker;
    let capture: ReturnType<typeof captureStream>;

    beforeEach(async () => {
      ctx = await createTestContext(backend);
      capture = captureStream();
      // The most verbose level, so any line that could leak is written.
      const logger = createLogger({ logLevel: 'trace' }, capture.stream);
      served = await serveApp(ctx, { logger });
      receiver = await startReceiver();
      worker = createWorker({
        store: ctx.rt.store,
        send: ctx.rt.send,
        settings: ctx.config,
        logger: logger.child({ component: 'worker' }),
      });
      worker.start();
    });
    afterEach(async () => {
      await worker.stop(2_000);
      await served.app.close();
      await receiver.close();
      await ctx.close();
    });

    it('are JSON lines that never contain a secret or an API key; delivery lines carry delivery_id', async () => {
      const hook = await served.call('POST', '/api/v1/webhooks', { url: receiver.url, secret: SECRET });
      expect(hook.status).toBe(201);
      const agent = await served.call('POST', '/api/v1/agents', { name: 'Healthcare Assistant' });
      // An agent's provider config is as secret as a webhook's: written, replaced and validated.
      const configured = await served.call('POST', '/api/v1/agents', {
        name: 'Configured',
        provider: 'vapi',
        config: { assistant_id: 'asst_1', api_key: PROVIDER_KEY },
      });
      expect(configured.status).toBe(201);
      await served.call('PUT', `/api/v1/agents/${configured.body.id}`, { config: { api_key: PROVIDER_KEY } });
      expect((await served.call('POST', `/api/v1/agents/${configured.body.id}/validate`)).status).toBe(200);
      const run = await served.call('POST', '/api/v1/runs', {
        agent_id: agent.body.id,
        status: 'completed',
        passed_count: 1,
      });
      expect(run.status).toBe(201);
      await receiver.waitFor(1);
      const test = await served.call('POST', `/api/v1/webhooks/${hook.body.id}/test`);
      expect(test.body.success).toBe(true);
      // A secret rotation, a refused key and a refused body: more requests that carry secrets.
      expect(
        (await served.call('PATCH', `/api/v1/webhooks/${hook.body.id}`, { secret: NEW_SECRET })).status,
      ).toBe(200);
      expect((await served.call('GET', '/api/v1/agents', undefined, `${ctx.apiKey}x`)).status).toBe(401);
      expect((await served.call('POST', '/api/v1/webhooks', { url: 'ftp://x', secret: SECRET })).status).toBe(
        400,
      );
      const delivered = await eventually(async () => {
        const list = await served.call('GET', `/api/v1/deliveries?test_run_id=${run.body.id}`);
        return list.body.deliveries.find((d: { status: string }) => d.status === 'succeeded');
      });
      await eventually(async () =>
        capture.records().some((r) => r.msg === 'delivery attempt' && r.delivery_id === delivered?.id),
      );

      const all = capture.lines.join('\n');
      expect(capture.lines.length).toBeGreaterThan(10);
      for (const leaked of [
        SECRET,
        NEW_SECRET,
        PROVIDER_KEY,
        ctx.apiKey,
        ctx.apiKey.slice('sk_live_'.length),
      ]) {
        expect(all).not.toContain(leaked);
      }
      const records = capture.records();
      // Request logs are there, without headers.
      expect(records.some((r) => r.msg === 'incoming request')).toBe(true);
      for (const r of records.filter((r) => r.req)) expect(r.req).not.toHaveProperty('headers');
      // Every line the worker writes about a delivery names it.
      const workerLines = records.filter((r) => r.component === 'worker');
      expect(workerLines.length).toBeGreaterThan(0);
      for (const r of workerLines.filter((r) => /deliver/i.test(String(r.msg)))) {
        expect(r, String(r.msg)).toHaveProperty('delivery_id');
      }
      const attempt = workerLines.find((r) => r.delivery_id === delivered.id);
      expect(attempt).toMatchObject({ msg: 'delivery attempt', http_status: 200, service: 'runhook' });
    });
  });
}

describe('createLogger', () => {
  it('redacts Authorization headers and secret fields even when a line logs them', () => {
    const capture = captureStream();
    const logger = createLogger({ logLevel: 'info' }, capture.stream);
    logger.info(
      {
        req: {
          headers: { authorization: 'Bearer sk_live_AAAA', cookie: 'session=1' },
          body: { secret: 's1' },
        },
        headers: { authorization: 'Bearer sk_live_BBBB' },
        webhook: { secret: 's2' },
        secret: 's3',
      },
      'careless line',
    );
    const [line] = capture.lines;
    expect(line).toBeDefined();
    for (const value of ['sk_live_AAAA', 'sk_live_BBBB', 'session=1', '"s1"', '"s2"', '"s3"']) {
      expect(line).not.toContain(value);
    }
    expect(JSON.parse(line!)).toMatchObject({ secret: '[redacted]', webhook: { secret: '[redacted]' } });
  });
});

for (const backend of backends) {
  describe(`query strings in logs [${backend.name}]`, () => {
    let ctx: TestContext;
    let served: ServedApp;
    let capture: ReturnType<typeof captureStream>;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      capture = captureStream();
      served = await serveApp(ctx, { logger: createLogger({ logLevel: 'trace' }, capture.stream) });
    });
    afterEach(async () => {
      await served.app.close();
      await ctx.close();
    });

    it('an API key or token in a query string is refused and never written to the log', async () => {
      const key = ctx.apiKey;
      const paths = [
        `/api/v1/agents?api_key=${key}`,
        `/api/v1/agents?limit=5&token=tok-${'9'.repeat(20)}&Key=plain-key-value`,
        `/api/v1/agents?secret=hush-hush-value`,
        `/api/v1/nope?q=${key}`,
      ];
      for (const path of paths) {
        const res = await served.call('GET', path, undefined, null);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
      await eventually(
        async () => capture.records().filter((r) => r.msg === 'request completed').length >= 4,
      );
      const all = capture.lines.join('\n');
      for (const leaked of [
        key,
        key.slice('sk_live_'.length),
        `tok-${'9'.repeat(20)}`,
        'plain-key-value',
        'hush-hush-value',
      ]) {
        expect(all).not.toContain(leaked);
      }
      const urls = capture
        .records()
        .filter((r) => r.msg === 'incoming request')
        .map((r) => (r.req as { url: string }).url);
      expect(urls).toEqual([
        '/api/v1/agents?api_key=[redacted]',
        '/api/v1/agents?limit=5&token=[redacted]&Key=[redacted]',
        '/api/v1/agents?secret=[redacted]',
        '/api/v1/nope?q=sk_live_[redacted]',
      ]);
    });
  });
}

describe('redactSecretsInText', () => {
  it.each([
    ['/a?api_key=abc&x=1', '/a?api_key=[redacted]&x=1'],
    ['/a?x=1&API-KEY=abc', '/a?x=1&API-KEY=[redacted]'],
    ['/a?access_token=abc#f', '/a?access_token=[redacted]#f'],
    ['/a?monkey=1&keys=2&x=key', '/a?monkey=1&keys=2&x=key'],
    ['{"msg":"key sk_live_AbC123 refused"}', '{"msg":"key sk_live_[redacted] refused"}'],
    ['{"url":"/a?token=abc\\"x"}', '{"url":"/a?token=[redacted]\\"x"}'],
  ])('%s → %s', (text, redacted) => {
    expect(redactSecretsInText(text)).toBe(redacted);
  });
});
