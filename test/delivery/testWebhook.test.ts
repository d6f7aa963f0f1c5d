/**
 * POST /webhooks/{id}/test (docs/delivery.md#test-webhook) against real receivers, and the SSRF rules at send time
 * (docs/delivery.md#ssrf-rules): a destination allowed when the webhook was saved is refused by a sender without the
 * allowlist, before anything reaches the receiver.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { createHttpSender } from '../../src/delivery/httpClient.js';
import { parseCidrList } from '../../src/domain/ipRules.js';
import { buildApp } from '../../src/http/app.js';
import { closeRuntime, openRuntime } from '../../src/runtime.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  closedPort,
  createAgent,
  createWebhook,
  type DeliveryJson,
  deliveryOfRun,
  finishedRun,
  getDelivery,
  getWebhook,
  settled,
  startWorker,
} from './support.js';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const ZERO = '00000000-0000-0000-0000-000000000000';

for (const backend of backends) {
  describe(`Test Webhook [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
      await ctx.close();
      await receiver.close();
    });

    async function setup(env: Record<string, string> = {}) {
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, env }),
        startReceiver(),
      ]);
    }
    const test = async (id: string) => {
      const res = await ctx.api('POST', `/api/v1/webhooks/${id}/test`);
      expect(res.status).toBe(200);
      return res.body;
    };

    it("logs a receiver's header named like an object key (__proto__) like any other", async () => {
      await setup();
      const hook = await createWebhook(ctx, { url: receiver.url });
      receiver.behaviour = { kind: 'status', status: 200, headers: JSON.parse('{"__proto__":"kept"}') };
      const detail = await getDelivery(ctx, (await test(hook.id)).delivery_id);
      const headers = detail.attempts[0]!.response!.headers;
      expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('kept');
    });

    it('200, then 500: answered as it happened, logged with trigger test, never retried, consecutive_failures untouched', async () => {
      // One real failed attempt first (retry a minute away), so that the count is 1, not 0.
      await setup({ RUNHOOK_RETRY_SCHEDULE: '1m' });
      receiver.behaviour = { kind: 'status', status: 500 };
      const hook = await createWebhook(ctx, { url: receiver.url, secret: SECRET });
      const real = await deliveryOfRun(ctx, (await finishedRun(ctx, await createAgent(ctx))).id);
      await eventually(async () => (await getWebhook(ctx, hook.id)).consecutive_failures === 1);
      const before = await getWebhook(ctx, hook.id);

      receiver.behaviour = { kind: 'status', status: 200, body: '{"ok":true}' };
      const ok = await test(hook.id);
      expect(ok).toMatchObject({ success: true, http_status: 200 });
      expect(ok.response_time_ms).toBeGreaterThanOrEqual(0);
      expect(ok.message).toBe('Test webhook delivered successfully');
      const got = receiver.requests[1]!;
      const body = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>);
      expect(body).toMatchObject({ event: 'test', is_test: true, test_run: { id: ZERO, agent_id: ZERO } });
      expect(got.body).toContain('"event":"test"');
      expect(got.body).toContain('"is_test":true');

      const history = await ctx.api<{ deliveries: DeliveryJson[] }>(
        'GET',
        `/api/v1/webhooks/${hook.id}/deliveries`,
      );
      expect(history.body.deliveries.map((d) => d.id)).toContain(ok.delivery_id);
      const okDetail = await getDelivery(ctx, ok.delivery_id);
      expect(okDetail).toMatchObject({ status: 'succeeded', attempt_count: 1, last_http_status: 200 });
      expect(okDetail.attempts).toMatchObject([{ attempt_number: 1, trigger: 'test', http_status: 200 }]);
      expect(okDetail.attempts[0]!.request.body).toBe(got.body);
      expect(okDetail.event.type).toBe('test');

      receiver.behaviour = { kind: 'status', status: 500, body: 'nope' };
      const bad = await test(hook.id);
      expect(bad).toMatchObject({ success: false, http_status: 500 });
      expect(bad.message).toBe('Webhook returned HTTP 500');
      const badDetail = await getDelivery(ctx, bad.delivery_id);
      // Final at once: `failed`, not `pending`, so the worker never picks it up again.
      expect(badDetail).toMatchObject({ status: 'failed', attempt_count: 1, next_attempt_at: null });
      expect(badDetail.attempts).toMatchObject([
        { trigger: 'test', http_status: 500, error_class: 'http_status' },
      ]);
      expect(badDetail.attempts[0]!.response).toMatchObject({ body: 'nope', truncated: false });

      const after = await getWebhook(ctx, hook.id);
      expect(after.consecutive_failures).toBe(before.consecutive_failures);
      expect(receiver.requests).toHaveLength(3); // the real attempt + two tests, no retry of either test
      expect((await getDelivery(ctx, real.id)).attempt_count).toBe(1);
    });

    it('a closed port: success false, http_status null, error_class connection_refused; a disabled webhook can be tested', async () => {
      await setup();
      const port = await closedPort();
      const hook = await createWebhook(ctx, { url: `http://127.0.0.1:${port}/hook`, is_enabled: false });
      const res = await test(hook.id);
      expect(res).toMatchObject({ success: false, http_status: null });
      expect(res.message).toBe('Webhook could not be reached: connection_refused');
      const d = await getDelivery(ctx, res.delivery_id);
      expect(d).toMatchObject({ status: 'failed', last_http_status: null });
      expect(d.attempts).toMatchObject([
        { trigger: 'test', http_status: null, error_class: 'connection_refused' },
      ]);
      expect((await getWebhook(ctx, hook.id)).consecutive_failures).toBe(0);
    });

    it('SSRF at send time: saved while loopback was allowed, sent without the allowlist → ssrf_blocked, nothing sent', async () => {
      await setup();
      // `localhost` is accepted at save time only because TEST_ENV allows 127.0.0.0/8.
      const hook = await createWebhook(ctx, { url: `http://localhost:${receiver.port}/hook` });

      // A second API and worker over the same database, configured without RUNHOOK_ALLOWED_CIDRS.
      const config = loadConfig({ ...TEST_ENV, RUNHOOK_ALLOWED_CIDRS: '', RUNHOOK_DATABASE_URL: ctx.db.url });
      expect(config.allowedCidrs).toEqual([]);
      const rt = await openRuntime(config, ctx.rt.logger);
      const app = await buildApp({ store: rt.store, config, secretBox: rt.secretBox, send: rt.send });
      cleanups.push(async () => {
        await app.close();
        await closeRuntime(rt);
      });
      await ctx.worker!.stop(); // only the strict worker below may send
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/webhooks/${hook.id}/test`,
        headers: { authorization: `Bearer ${ctx.apiKey}` },
      });
      expect(res.statusCode).toBe(200);
      const answer = res.json();
      expect(answer).toMatchObject({ success: false, http_status: null });
      expect(answer.message).toBe('Webhook could not be reached: ssrf_blocked');
      const d = await getDelivery(ctx, answer.delivery_id);
      expect(d.attempts).toMatchObject([{ http_status: null, error_class: 'ssrf_blocked' }]);
      // The host, not what it resolves to (the server's DNS is not the tenant's business).
      expect(d.attempts[0]!.error_message).toMatch(/^localhost is not a public address; /);
      expect(d.attempts[0]!.error_message!.split(';')[0]).not.toMatch(/127\.0\.0\.1|::1/);

      // The worker path refuses it the same way, on every attempt.
      const strict: Worker = startWorker({ ...ctx, rt }, {});
      cleanups.push(() => strict.stop(1_000));
      // Finished through the strict API, whose store wakes the strict worker at once.
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: { authorization: `Bearer ${ctx.apiKey}` },
        payload: { agent_id: await createAgent(ctx), status: 'completed', passed_count: 1 },
      });
      expect(created.statusCode).toBe(201);
      const run = created.json();
      const scheduled = await settled(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(scheduled).toMatchObject({ status: 'failed', attempt_count: 4 });
      expect(scheduled.attempts.map((a) => a.error_class)).toEqual(Array(4).fill('ssrf_blocked'));
      expect(receiver.requests).toHaveLength(0);
    });
  });
}

describe('createHttpSender SSRF checks', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  const post = (allowed: string, url: string) => {
    const sender = createHttpSender({ allowedCidrs: allowed === '' ? [] : parseCidrList(allowed) });
    return sender
      .send({ url, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2_000 })
      .finally(() => sender.close());
  };

  it.each([
    ['a name that resolves to loopback', (p: number) => `http://localhost:${p}/hook`],
    ['a literal IPv4 loopback', (p: number) => `http://127.0.0.1:${p}/hook`],
    ['a literal IPv6 loopback', (p: number) => `http://[::1]:${p}/hook`],
    ['an IPv4-mapped IPv6 loopback', (p: number) => `http://[::ffff:127.0.0.1]:${p}/hook`],
    ['an integer-encoded IPv4 loopback', (p: number) => `http://2130706433:${p}/hook`],
  ])('refuses %s without an allowlist, before connecting', async (_what, url) => {
    const result = await post('', url(receiver.port));
    expect(result).toMatchObject({ httpStatus: null, errorClass: 'ssrf_blocked', response: null });
    expect(receiver.requests).toHaveLength(0);
  });

  it('a refused name: the attempt says the host is not public; only the server log hears the address', async () => {
    const blocked: Array<[string, string[]]> = [];
    const sender = createHttpSender({
      allowedCidrs: [],
      onBlocked: (host, addresses) => blocked.push([host, addresses]),
    });
    try {
      const result = await sender.send({
        url: `http://localhost:${receiver.port}/hook`,
        headers: { 'content-type': 'application/json' },
        body: '{}',
        timeoutMs: 2_000,
      });
      expect(result.errorClass).toBe('ssrf_blocked');
      expect(result.errorMessage).toMatch(/^localhost is not a public address; /);
      expect(result.errorMessage!.split(';')[0]).not.toMatch(/127\.0\.0\.1|::1/);
    } finally {
      await sender.close();
    }
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked[0]![0]).toBe('localhost');
    expect(blocked[0]![1].some((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
  });

  it('sends to the same receiver when loopback is inside RUNHOOK_ALLOWED_CIDRS', async () => {
    const result = await post('127.0.0.0/8', `http://localhost:${receiver.port}/hook`);
    expect(result).toMatchObject({ httpStatus: 200, errorClass: null });
    expect(receiver.requests).toHaveLength(1);
  });

  it('a name that does not resolve is error_class dns', async () => {
    const result = await post('', 'http://no-such-host.invalid/hook');
    expect(result).toMatchObject({ httpStatus: null, errorClass: 'dns' });
  });
});
