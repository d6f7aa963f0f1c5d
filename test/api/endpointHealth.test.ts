/**
 * Endpoint health through the API (docs/receiving-webhooks.md, "When your endpoint fails"):
 * health / disabled_reason / disabled_at on webhooks, kind / test_run_id / failure_reason on
 * deliveries, the stats numbers and recover with its bad input — with a real worker and a real
 * receiver on loopback, on every backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import {
  createAgent,
  createWebhook,
  deliveryOfRun,
  finishedRun,
  getWebhook,
  settled,
} from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const HOUR = 3_600_000;

for (const backend of backends) {
  describe(`endpoint health API [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let receiver: Receiver | undefined;
    afterEach(async () => {
      await ctx?.close();
      await receiver?.close();
      ctx = undefined;
      receiver = undefined;
    });

    async function setup(env: Record<string, string> = {}) {
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, env }),
        startReceiver(),
      ]);
      return { c: ctx, r: receiver };
    }

    it('a webhook turned off by a person says manual and when; turning it on clears both', async () => {
      const { c, r } = await setup();
      const hook = await createWebhook(c, { url: r.url });
      expect(hook).toMatchObject({
        is_enabled: true,
        health: 'healthy',
        disabled_reason: null,
        disabled_at: null,
      });

      const before = Date.now();
      const off = await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: false });
      expect(off.body).toMatchObject({ is_enabled: false, health: 'disabled', disabled_reason: 'manual' });
      const at = Date.parse(off.body.disabled_at);
      expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(at).toBeLessThanOrEqual(Date.now());

      // Saving the form again (is_enabled still false) keeps the reason and the date.
      const again = await c.api('PUT', `/api/v1/webhooks/${hook.id}`, {
        is_enabled: false,
        description: 'x',
      });
      expect(again.body).toMatchObject({ disabled_reason: 'manual', disabled_at: off.body.disabled_at });

      const on = await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: true });
      expect(on.body).toMatchObject({
        is_enabled: true,
        health: 'healthy',
        disabled_reason: null,
        disabled_at: null,
      });

      const created = await createWebhook(c, {
        url: r.url,
        agent_id: await createAgent(c),
        is_enabled: false,
      });
      expect(created).toMatchObject({ health: 'disabled', disabled_reason: 'manual' });
      expect(created.disabled_at).toBe(created.created_at);
    });

    it('failed attempts make a webhook degraded; a success makes it healthy again', async () => {
      const { c, r } = await setup({ RUNHOOK_DEGRADED_AFTER: '3', RUNHOOK_RETRY_SCHEDULE: '20ms' });
      r.behaviour = { kind: 'status', status: 500 };
      const hook = await createWebhook(c, { url: r.url });
      const agent = await createAgent(c);
      // Two deliveries of two attempts each: 4 failures in a row.
      for (let i = 0; i < 2; i++)
        await settled(c, (await deliveryOfRun(c, (await finishedRun(c, agent)).id)).id);
      expect(await getWebhook(c, hook.id)).toMatchObject({ consecutive_failures: 4, health: 'degraded' });

      r.behaviour = { kind: 'status', status: 200 };
      await settled(c, (await deliveryOfRun(c, (await finishedRun(c, agent)).id)).id);
      expect(await getWebhook(c, hook.id)).toMatchObject({ consecutive_failures: 0, health: 'healthy' });
    });

    it('deliveries carry kind and test_run_id, and lists filter by kind', async () => {
      const { c, r } = await setup();
      const hook = await createWebhook(c, { url: r.url });
      const agent = await createAgent(c);
      const run = await finishedRun(c, agent);
      const event = await settled(c, (await deliveryOfRun(c, run.id)).id);
      expect(event).toMatchObject({
        kind: 'event',
        test_run_id: run.id,
        status: 'succeeded',
        failure_reason: null,
      });

      const test = await c.api('POST', `/api/v1/webhooks/${hook.id}/test`);
      expect(test.body.success).toBe(true);
      const tests = await c.api('GET', '/api/v1/deliveries?kind=test');
      expect(tests.body.deliveries).toMatchObject([
        { id: test.body.delivery_id, kind: 'test', test_run_id: null },
      ]);
      const all = await c.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`);
      expect(all.body.total).toBe(2);
      const events = await c.api('GET', `/api/v1/webhooks/${hook.id}/deliveries?kind=event`);
      expect(events.body.deliveries.map((d: { id: string }) => d.id)).toEqual([event.id]);
      const probes = await c.api('GET', `/api/v1/deliveries?kind=probe`);
      expect(probes.body).toMatchObject({ total: 0, deliveries: [] });
      const bad = await c.api('GET', '/api/v1/deliveries?kind=retry');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'kind' } });
    });

    it('stats: counts, success rate, percentiles and hourly buckets of event deliveries only', async () => {
      const { c, r } = await setup({ RUNHOOK_RETRY_SCHEDULE: '10ms' });
      const hook = await createWebhook(c, { url: r.url });
      const agent = await createAgent(c);
      // An API whose clock we set, so deliveries are created in chosen hours; the worker sends them now.
      let clock = Date.now();
      const app = await buildApp({
        store: c.rt.store,
        config: c.config,
        secretBox: c.rt.secretBox,
        send: c.rt.send,
        now: () => clock,
      });
      const call = async (method: string, url: string, body?: unknown) => {
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: {
            authorization: `Bearer ${c.apiKey}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          payload: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.statusCode, body: JSON.parse(res.body) };
      };
      const t0 = Date.now() - 1000; // every delivery is due at once: created in the past
      const runAt = async (at: number) => {
        clock = at;
        const run = await call('POST', '/api/v1/runs', {
          agent_id: agent,
          status: 'completed',
          passed_count: 1,
        });
        expect(run.status).toBe(201);
        return settled(c, (await deliveryOfRun(c, run.body.id)).id);
      };
      // Three hours ago: 2 fast successes. One hour ago: 1 failure. This hour: 6 fast, 1 slow success.
      for (let i = 0; i < 2; i++) await runAt(t0 - 3 * HOUR);
      r.behaviour = { kind: 'status', status: 500 };
      await runAt(t0 - HOUR);
      r.behaviour = { kind: 'status', status: 200 };
      for (let i = 0; i < 6; i++) await runAt(t0);
      r.behaviour = { kind: 'slow', delayMs: 400 };
      await runAt(t0);
      r.behaviour = { kind: 'status', status: 200 };
      // Outside the window (25 hours ago), and a test send: neither is counted.
      await runAt(t0 - 25 * HOUR);
      expect((await c.api('POST', `/api/v1/webhooks/${hook.id}/test`)).body.success).toBe(true);

      clock = t0;
      const stats = await call('GET', `/api/v1/webhooks/${hook.id}/stats?window=24h`);
      expect(stats.status).toBe(200);
      const s = stats.body;
      expect(s).toMatchObject({ window: '24h', deliveries: 10, succeeded: 9, failed: 1, pending: 0 });
      expect(s.success_rate).toBe(90);
      expect(s.p50_ms).toBeLessThan(400);
      expect(s.p95_ms).toBeGreaterThanOrEqual(400);
      expect(s.buckets).toHaveLength(24);
      const hourStart = (at: number) =>
        new Date(Math.floor(at / HOUR) * HOUR).toISOString().replace('.000Z', 'Z');
      expect(s.buckets[23]).toMatchObject({ start: hourStart(t0), succeeded: 7, failed: 0 });
      expect(s.buckets[23].p95_ms).toBeGreaterThanOrEqual(400);
      expect(s.buckets[22]).toMatchObject({ start: hourStart(t0 - HOUR), succeeded: 0, failed: 1 });
      expect(s.buckets[20]).toMatchObject({ start: hourStart(t0 - 3 * HOUR), succeeded: 2, failed: 0 });
      expect(s.buckets[0].start).toBe(hourStart(t0 - 23 * HOUR));
      expect(s.buckets.reduce((n: number, b: { succeeded: number }) => n + b.succeeded, 0)).toBe(9);
      expect(Date.parse(s.last_success_at)).toBeGreaterThan(Date.parse(s.last_failure_at) - 60_000);

      const week = await call('GET', `/api/v1/webhooks/${hook.id}/stats?window=7d`);
      expect(week.body).toMatchObject({ window: '7d', deliveries: 11, succeeded: 10, failed: 1 });
      expect(week.body.buckets).toHaveLength(7);
      expect(week.body.buckets[6].start).toBe(
        new Date(Math.floor(t0 / (24 * HOUR)) * 24 * HOUR).toISOString().replace('.000Z', 'Z'),
      );

      const bad = await call('GET', `/api/v1/webhooks/${hook.id}/stats?window=1y`);
      expect(bad).toMatchObject({ status: 400, body: { code: 'INVALID_FIELD_VALUE' } });
      const missing = await call('GET', '/api/v1/webhooks/00000000-0000-0000-0000-000000000001/stats');
      expect(missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      await app.close();

      // Another organization's webhook is not found.
      const other = await c.newOrg();
      const foreign = await c.api('GET', `/api/v1/webhooks/${hook.id}/stats`, undefined, other.apiKey);
      expect(foreign.status).toBe(404);
    });

    it('recover: bad input is a 400 naming the field and changes nothing; dry run counts; recover resends', async () => {
      const { c, r } = await setup({ RUNHOOK_RETRY_SCHEDULE: '10ms' });
      r.behaviour = { kind: 'status', status: 500 };
      const hook = await createWebhook(c, { url: r.url });
      const agent = await createAgent(c);
      const since = new Date(Date.now() - 1000).toISOString();
      const failed = [];
      for (let i = 0; i < 3; i++)
        failed.push(await settled(c, (await deliveryOfRun(c, (await finishedRun(c, agent)).id)).id));
      expect(failed.map((d) => d.status)).toEqual(['failed', 'failed', 'failed']);
      const sentBefore = r.requests.length;

      const path = `/api/v1/webhooks/${hook.id}/recover`;
      const cases: Array<[unknown, string, string]> = [
        [{}, 'MISSING_REQUIRED_FIELD', 'since'],
        [{ since: 'yesterday' }, 'INVALID_FIELD_VALUE', 'since'],
        [{ since, until: 'later' }, 'INVALID_FIELD_VALUE', 'until'],
        [{ since, until: new Date(Date.parse(since) - 1000).toISOString() }, 'INVALID_FIELD_VALUE', 'until'],
        [{ since: '2024-01-01T00:00:00Z', until: '2025-01-02T00:00:01Z' }, 'INVALID_FIELD_VALUE', 'until'],
        [{ since: new Date(Date.now() + HOUR).toISOString() }, 'INVALID_FIELD_VALUE', 'since'],
        [{ since, dry_run: 'yes' }, 'INVALID_FIELD_VALUE', 'dry_run'],
        [{ since, extra: 1 }, 'INVALID_FIELD_VALUE', 'extra'],
      ];
      for (const [body, code, field] of cases) {
        const res = await c.api('POST', path, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body).toMatchObject({ code, details: { field } });
        expect(typeof res.body.error).toBe('string');
      }
      const notJson = await c.api('POST', path, '{"since":');
      expect(notJson).toMatchObject({ status: 400, body: { code: 'INVALID_JSON' } });
      const unknown = await c.api('POST', '/api/v1/webhooks/00000000-0000-0000-0000-000000000001/recover', {
        since,
      });
      expect(unknown).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      // Nothing changed by any of them.
      for (const d of failed)
        expect((await c.api('GET', `/api/v1/deliveries/${d.id}`)).body.status).toBe('failed');

      const dry = await c.api('POST', path, { since, dry_run: true });
      expect(dry).toMatchObject({ status: 202, body: { count: 3, dry_run: true } });
      const early = await c.api('POST', path, { since, until: since, dry_run: true });
      expect(early.status).toBe(400);
      await new Promise((res) => setTimeout(res, 100));
      expect(r.requests.length).toBe(sentBefore);

      await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: false });
      const disabled = await c.api('POST', path, { since });
      expect(disabled).toMatchObject({ status: 409, body: { code: 'INVALID_STATE' } });
      // Bad and conflicting at once: the 400 wins.
      expect((await c.api('POST', path, { since: 'x' })).status).toBe(400);
      await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: true });

      r.behaviour = { kind: 'status', status: 200 };
      const done = await c.api('POST', path, { since });
      expect(done).toMatchObject({ status: 202, body: { count: 3, dry_run: false } });
      for (const d of failed) {
        const after = await eventually(async () => {
          const x = (await c.api('GET', `/api/v1/deliveries/${d.id}`)).body;
          return x.status === 'succeeded' && x;
        });
        expect(after.failure_reason).toBeNull();
        const last = after.attempts.at(-1);
        expect(last.trigger).toBe('recover');
        expect(last.request.headers['webhook-id']).toBe(d.event_id);
      }
      const resent = r.requests.slice(sentBefore).map((q) => q.headers['webhook-id']);
      expect(resent.sort()).toEqual(failed.map((d) => d.event_id).sort());
      // Nothing left to recover.
      expect((await c.api('POST', path, { since, dry_run: true })).body.count).toBe(0);
      await c.api('DELETE', `/api/v1/webhooks/${hook.id}`);
      expect((await c.api('POST', path, { since })).status).toBe(404);
    });
  });
}
