/**
 * docs/delivery.md#retries end to end: the in-process worker against a real receiver told to fail in each way
 * the spec names, with the retry schedule in milliseconds (TEST_ENV: 50ms,50ms,50ms, no jitter).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  closedPort,
  createAgent,
  createWebhook,
  deliveryOfRun,
  finishedRun,
  getWebhook,
  settled,
} from './support.js';

for (const backend of backends) {
  describe(`delivery retries [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    async function receiver(): Promise<Receiver> {
      const r = await startReceiver();
      receivers.push(r);
      return r;
    }

    /** A worker-backed context, an org webhook at `url`, and one finished run: returns its delivery id. */
    async function fire(url: string, env: Record<string, string> = {}) {
      ctx = await createTestContext(backend, { worker: true, env });
      const hook = await createWebhook(ctx, { url });
      const agentId = await createAgent(ctx);
      const run = await finishedRun(ctx, agentId);
      const d = await deliveryOfRun(ctx, run.id);
      return { c: ctx, hook, deliveryId: d.id as string };
    }

    it('500 then 200: two attempts, same webhook-id, a new webhook-timestamp; failures reset to 0', async () => {
      const r = await receiver();
      r.script = [
        { kind: 'status', status: 500, body: 'boom' },
        { kind: 'status', status: 200 },
      ];
      // The first retry waits 1.1 s so that the two attempts' Unix seconds must differ.
      const { c, hook, deliveryId } = await fire(r.url, { RUNHOOK_RETRY_SCHEDULE: '1100ms,50ms,50ms' });
      await r.waitFor(1);
      await eventually(
        async () => (await getWebhook(c, hook.id)).consecutive_failures === 1,
        5_000,
        'one failure counted',
      );
      const d = await settled(c, deliveryId);
      expect(d).toMatchObject({ status: 'succeeded', attempt_count: 2, last_http_status: 200 });
      expect(d.attempts.map((a) => [a.attempt_number, a.trigger, a.http_status, a.error_class])).toEqual([
        [1, 'scheduled', 500, 'http_status'],
        [2, 'scheduled', 200, null],
      ]);
      expect(d.attempts[0]!.response).toMatchObject({ body: 'boom', truncated: false });
      const [first, second] = r.requests;
      expect(r.requests).toHaveLength(2);
      expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
      expect(second!.headers['webhook-id']).toBe(d.event_id);
      expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(
        Number(first!.headers['webhook-timestamp']),
      );
      expect(second!.body).toBe(first!.body); // byte-identical on every retry (docs/payloads.md)
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_100);
      const w = await getWebhook(c, hook.id);
      expect(w.consecutive_failures).toBe(0);
      expect(w.last_triggered_at).not.toBeNull();
    });

    it('always 500: 1 + 3 attempts, then failed with 4 consecutive failures; redeliver adds one manual attempt', async () => {
      const r = await receiver();
      r.behaviour = { kind: 'status', status: 500 };
      const { c, hook, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId);
      expect(d).toMatchObject({ status: 'failed', attempt_count: 4, last_http_status: 500 });
      expect(d.attempts.map((a) => a.attempt_number)).toEqual([1, 2, 3, 4]);
      expect(d.attempts.every((a) => a.trigger === 'scheduled' && a.error_class === 'http_status')).toBe(
        true,
      );
      expect(r.requests).toHaveLength(4);
      // Each retry follows its 50 ms delay closely: measured from the failed attempt, and not held
      // back until the worker's 1 s fallback poll (a bug this caught: see the worker's flush()).
      for (let i = 1; i < 4; i++) {
        const gap = r.requests[i]!.at - r.requests[i - 1]!.at;
        expect(gap).toBeGreaterThanOrEqual(49);
        expect(gap).toBeLessThan(600);
      }
      expect((await getWebhook(c, hook.id)).consecutive_failures).toBe(4);

      // A failed delivery redelivered while the receiver still fails: exactly one more attempt.
      const again = await c.api('POST', `/api/v1/deliveries/${deliveryId}/redeliver`);
      expect(again.status).toBe(202);
      await r.waitFor(5);
      const d2 = await eventually(async () => {
        const x = (await c.api('GET', `/api/v1/deliveries/${deliveryId}`)).body;
        return x.status === 'failed' && x.attempt_count === 5 && x;
      });
      expect(d2.attempts[4]).toMatchObject({ attempt_number: 5, trigger: 'manual', http_status: 500 });
      expect(r.requests[4]!.headers['webhook-id']).toBe(d.event_id);
      expect((await getWebhook(c, hook.id)).consecutive_failures).toBe(5);

      r.behaviour = { kind: 'status', status: 204 };
      expect((await c.api('POST', `/api/v1/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
      const d3 = await settled(c, deliveryId);
      expect(d3).toMatchObject({ status: 'succeeded', attempt_count: 6, last_http_status: 204 });
      expect(d3.attempts[5]).toMatchObject({ attempt_number: 6, trigger: 'manual' });
      expect(r.requests).toHaveLength(6);
      expect(r.requests[5]!.headers['webhook-id']).toBe(d.event_id);
      expect((await getWebhook(c, hook.id)).consecutive_failures).toBe(0);
    });

    it('a receiver that never answers: error_class timeout after RUNHOOK_ATTEMPT_TIMEOUT', async () => {
      const r = await receiver();
      r.script = [{ kind: 'hang' }, { kind: 'status', status: 200 }];
      const { c, deliveryId } = await fire(r.url, { RUNHOOK_ATTEMPT_TIMEOUT: '300ms' });
      await r.waitFor(1);
      // While that attempt hangs, a redelivery is refused rather than sent in parallel.
      const during = await c.api('POST', `/api/v1/deliveries/${deliveryId}/redeliver`);
      expect(during.status).toBe(409);
      expect(during.body.code).toBe('INVALID_STATE');
      const d = await settled(c, deliveryId);
      expect(d.status).toBe('succeeded');
      expect(r.requests).toHaveLength(2);
      const timedOut = d.attempts[0]!;
      expect(timedOut).toMatchObject({ http_status: null, error_class: 'timeout', response: null });
      expect(timedOut.response_time_ms).toBeGreaterThanOrEqual(290);
      expect(timedOut.response_time_ms).toBeLessThan(2_000);
    });

    it('a closed port: connection_refused on every attempt, then failed', async () => {
      const port = await closedPort();
      const { c, deliveryId } = await fire(`http://127.0.0.1:${port}/hook`);
      const d = await settled(c, deliveryId);
      expect(d).toMatchObject({ status: 'failed', attempt_count: 4, last_http_status: null });
      expect(d.attempts.map((a) => a.error_class)).toEqual(Array(4).fill('connection_refused'));
    });

    it('a connection reset mid-request: connection_reset, then retried', async () => {
      const r = await receiver();
      r.script = [{ kind: 'reset' }, { kind: 'status', status: 200 }];
      const { c, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId);
      expect(d.status).toBe('succeeded');
      expect(d.attempts.map((a) => a.error_class)).toEqual(['connection_reset', null]);
    });

    it('410 Gone: the webhook is disabled at once and the delivery fails after one attempt', async () => {
      const r = await receiver();
      r.behaviour = { kind: 'status', status: 410 };
      const { c, hook, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId);
      expect(d).toMatchObject({
        status: 'failed',
        attempt_count: 1,
        last_http_status: 410,
        failure_reason: 'gone',
      });
      expect(r.requests).toHaveLength(1);
      expect(await getWebhook(c, hook.id)).toMatchObject({ is_enabled: false, disabled_reason: 'gone' });
      // Turned off by the system, the webhook still gets each run's delivery, failed at once and
      // never sent, so it can be recovered (docs/delivery.md#which-webhook-receives-an-event).
      const run = await finishedRun(c, await createAgent(c, 'After gone'));
      const after = (await c.api('GET', `/api/v1/deliveries?test_run_id=${run.id}`)).body;
      expect(after.deliveries).toMatchObject([
        { webhook_id: hook.id, status: 'failed', failure_reason: 'webhook_disabled', attempt_count: 0 },
      ]);
      expect(r.requests).toHaveLength(1);
    });

    it('410 Gone changes the webhook: its updated_at is the time it was turned off', async () => {
      const r = await receiver();
      r.behaviour = { kind: 'status', status: 410 };
      ctx = await createTestContext(backend, { worker: true });
      const hook = await createWebhook(ctx, { url: r.url });
      const agentId = await createAgent(ctx);
      // Times are to the second: the 410 comes in a later second than the creation.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const run = await finishedRun(ctx, agentId);
      await settled(ctx, (await deliveryOfRun(ctx, run.id)).id);
      const off = await getWebhook(ctx, hook.id);
      expect(off).toMatchObject({ is_enabled: false, disabled_reason: 'gone' });
      expect(off.disabled_at).not.toBe(hook.updated_at);
      expect(off.updated_at).toBe(off.disabled_at);
    });

    it('429 with Retry-After: 1 lengthens the 50 ms delay to at least a second', async () => {
      const r = await receiver();
      r.script = [
        { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
        { kind: 'status', status: 200 },
      ];
      const { c, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId, 5_000);
      expect(d.status).toBe('succeeded');
      expect(d.attempts[0]).toMatchObject({ http_status: 429, error_class: 'http_status' });
      expect(d.attempts[0]!.response!.headers['retry-after']).toBe('1');
      // Both `at`s are the receiver's clock; the retry is due 1 s after the 429 was read.
      expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(990);
    });

    it('302 is a failure and the redirect is not followed', async () => {
      const [r, target] = [await receiver(), await receiver()];
      r.behaviour = { kind: 'status', status: 302, headers: { location: target.url } };
      const { c, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId);
      expect(d).toMatchObject({ status: 'failed', attempt_count: 4, last_http_status: 302 });
      expect(d.attempts[0]!.response!.headers.location).toBe(target.url);
      expect(r.requests).toHaveLength(4);
      expect(target.requests).toHaveLength(0);
    });

    it('a response body over 64 KiB is logged capped, with truncated: true', async () => {
      const r = await receiver();
      const big = 'x'.repeat(100 * 1024);
      r.behaviour = { kind: 'status', status: 200, body: big };
      const { c, deliveryId } = await fire(r.url);
      const d = await settled(c, deliveryId);
      expect(d.status).toBe('succeeded');
      expect(d.attempts[0]!.response!.truncated).toBe(true);
      expect(d.attempts[0]!.response!.body).toBe(big.slice(0, 64 * 1024));
    });
  });
}
