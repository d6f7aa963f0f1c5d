/**
 * Several webhooks per scope and their event types (docs/delivery.md#which-webhook-receives-an-event):
 * one delivery per webhook an event is routed to, fallback from an agent to the organization per
 * event type, a system-disabled agent webhook still blocking it, and bad subscriptions refused
 * with a 400 that changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, type DeliveryJson, finishedRun, settled } from './support.js';

async function deliveriesOfRun(ctx: TestContext, runId: string): Promise<DeliveryJson[]> {
  const list = await ctx.api('GET', `/api/v1/deliveries?test_run_id=${runId}`);
  expect(list.status).toBe(200);
  return list.body.deliveries;
}

const hooksOf = (deliveries: DeliveryJson[]) => deliveries.map((d) => d.webhook_id).sort();

for (const backend of backends) {
  describe(`several webhooks per scope [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    it('every webhook of the scope gets one delivery of the event, sent once each', async () => {
      ctx = await createTestContext(backend, { worker: true });
      const [r1, r2, r3] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
      receivers.push(r1, r2, r3);
      const o1 = await createWebhook(ctx, { url: r1.url });
      const o2 = await createWebhook(ctx, { url: r2.url });
      expect(o1.events).toEqual(['test_run_completed']);
      const a = await createAgent(ctx, 'A');
      const b = await createAgent(ctx, 'B');
      const a1 = await createWebhook(ctx, { url: r3.url, agent_id: a });
      const a2 = await createWebhook(ctx, { url: r3.url, agent_id: a, events: ['test_run_completed'] });

      const runA = await finishedRun(ctx, a);
      const runB = await finishedRun(ctx, b);
      const dA = await deliveriesOfRun(ctx, runA.id);
      const dB = await deliveriesOfRun(ctx, runB.id);
      expect(hooksOf(dA)).toEqual([a1.id, a2.id].sort());
      expect(hooksOf(dB)).toEqual([o1.id, o2.id].sort());
      for (const d of [...dA, ...dB]) expect((await settled(ctx, d.id)).status).toBe('succeeded');
      // One event: the same webhook-id at every webhook it went to.
      expect(new Set(dB.map((d) => d.event_id)).size).toBe(1);
      expect(r1.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([runB.id]);
      expect(r2.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([runB.id]);
      expect(r3.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([runA.id, runA.id]);
      expect(r1.requests[0]?.headers['webhook-id']).toBe(r2.requests[0]?.headers['webhook-id']);
    });

    it('recover acts on one webhook’s delivery of a shared event, with its webhook-id', async () => {
      ctx = await createTestContext(backend, { worker: true, env: { RUNHOOK_RETRY_SCHEDULE: '20ms' } });
      const [good, bad] = await Promise.all([startReceiver(), startReceiver()]);
      receivers.push(good, bad);
      const okHook = await createWebhook(ctx, { url: good.url, secret: 'good-secret-123' });
      const badHook = await createWebhook(ctx, { url: bad.url, secret: 'bad-secret-4567' });
      bad.behaviour = { kind: 'status', status: 500 };
      const since = new Date(Date.now() - 1000).toISOString();
      const a = await createAgent(ctx, 'A');
      const run = await finishedRun(ctx, a);
      const ds = await deliveriesOfRun(ctx, run.id);
      const ok = ds.find((d) => d.webhook_id === okHook.id)!;
      const failed = ds.find((d) => d.webhook_id === badHook.id)!;
      expect((await settled(ctx, ok.id)).status).toBe('succeeded');
      expect(await settled(ctx, failed.id)).toMatchObject({
        status: 'failed',
        failure_reason: 'attempts_exhausted',
      });
      // Each webhook signs with its own secret; both carry the event's id.
      const eventId = good.requests[0]?.headers['webhook-id'];
      expect(bad.requests.every((r) => r.headers['webhook-id'] === eventId)).toBe(true);
      expect(good.requests[0]?.headers['x-runhook-signature']).not.toBe(
        bad.requests[0]?.headers['x-runhook-signature'],
      );

      bad.behaviour = { kind: 'status', status: 200 };
      const sentBefore = bad.requests.length;
      const recovered = await ctx.api('POST', `/api/v1/webhooks/${badHook.id}/recover`, { since });
      expect(recovered.status).toBe(202);
      expect(recovered.body.count).toBe(1);
      expect((await settled(ctx, failed.id)).status).toBe('succeeded');
      expect(bad.requests.length).toBe(sentBefore + 1);
      expect(bad.requests.at(-1)?.headers['webhook-id']).toBe(eventId);
      // The other webhook's delivery was not touched: nothing failed there to recover.
      const none = await ctx.api('POST', `/api/v1/webhooks/${okHook.id}/recover`, { since, dry_run: true });
      expect(none.body.count).toBe(0);
      expect(good.requests).toHaveLength(1);
    });

    it('falls back to the org-level webhooks per event type', async () => {
      ctx = await createTestContext(backend, { worker: false });
      const orgHook = await createWebhook(ctx, { url: 'https://example.com/org' });
      const a = await createAgent(ctx, 'A');
      const started = await createWebhook(ctx, {
        url: 'https://example.com/a',
        agent_id: a,
        events: ['test_run_started'],
      });
      // A's only webhook does not take test_run_completed: the org's does.
      const done = await finishedRun(ctx, a);
      expect(hooksOf(await deliveriesOfRun(ctx, done.id))).toEqual([orgHook.id]);
      // Subscribed to both now: A's webhook takes it, the org's no longer does.
      const patched = await ctx.api('PATCH', `/api/v1/webhooks/${started.id}`, {
        events: ['test_run_started', 'test_run_completed'],
      });
      expect(patched.status).toBe(200);
      expect(patched.body.events).toEqual(['test_run_started', 'test_run_completed']);
      const again = await finishedRun(ctx, a);
      expect(hooksOf(await deliveriesOfRun(ctx, again.id))).toEqual([started.id]);
    });

    it('a system-disabled agent webhook subscribed to the type still blocks the fallback', async () => {
      ctx = await createTestContext(backend, { worker: false });
      await createWebhook(ctx, { url: 'https://example.com/org' });
      const a = await createAgent(ctx, 'A');
      const off = await createWebhook(ctx, { url: 'https://example.com/a1', agent_id: a });
      const manual = await createWebhook(ctx, {
        url: 'https://example.com/a2',
        agent_id: a,
        is_enabled: false,
      });
      const raw = await openRawSql(ctx.db.url);
      try {
        await raw.exec(
          `UPDATE webhooks SET is_enabled = 0, disabled_reason = 'failing', disabled_at = 1 WHERE id = '${off.id}'`,
        );
      } finally {
        await raw.close();
      }
      const run = await finishedRun(ctx, a);
      const ds = await deliveriesOfRun(ctx, run.id);
      expect(ds).toHaveLength(1);
      expect(ds[0]).toMatchObject({
        webhook_id: off.id,
        status: 'failed',
        failure_reason: 'webhook_disabled',
      });
      expect(ds.map((d) => d.webhook_id)).not.toContain(manual.id);
    });

    it('an unknown event type, or one the format cannot carry, is a 400 that changes nothing', async () => {
      ctx = await createTestContext(backend, { worker: false });
      const hook = await createWebhook(ctx, { url: 'https://example.com/h', events: ['test_run_started'] });
      const cases: Array<[string, string, Record<string, unknown>]> = [
        ['POST', '/api/v1/webhooks', { url: 'https://example.com/x', events: ['test_run_exploded'] }],
        ['POST', '/api/v1/webhooks', { url: 'https://example.com/x', events: [] }],
        [
          'POST',
          '/api/v1/webhooks',
          { url: 'https://example.com/x', format: 'clix', events: ['test_status_changed'] },
        ],
        ['PATCH', `/api/v1/webhooks/${hook.id}`, { events: ['nope'], url: 'https://example.com/changed' }],
        ['PATCH', `/api/v1/webhooks/${hook.id}`, { format: 'clix' }],
        ['PUT', `/api/v1/webhooks/${hook.id}`, { events: 'test_run_started' }],
      ];
      for (const [method, path, body] of cases) {
        const res = await ctx.api(method, path, body);
        expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(400);
        expect(res.body).toMatchObject({ code: 'INVALID_FIELD_VALUE' });
        // `events`, or the item at fault (`events.0`).
        expect(res.body.details.field).toMatch(/^events(\.\d+)?$/);
      }
      const list = await ctx.api('GET', '/api/v1/webhooks');
      expect(list.body.total).toBe(1);
      expect(list.body.webhooks[0]).toMatchObject({
        url: 'https://example.com/h',
        format: 'standard',
        events: ['test_run_started'],
      });
      // A clix webhook of finished runs is fine.
      const clix = await ctx.api('POST', '/api/v1/webhooks', {
        url: 'https://example.com/c',
        format: 'clix',
      });
      expect(clix.status).toBe(201);
      expect(clix.body.events).toEqual(['test_run_completed']);
    });
  });
}
