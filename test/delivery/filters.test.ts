/**
 * Webhook filters (docs/api.md, "Filters"), end to end: which finished runs reach a real receiver,
 * and that a run left out by an agent's webhook is not handed to the org's instead.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from './support.js';

async function deliveriesOfRun(ctx: TestContext, runId: string): Promise<number> {
  const list = await ctx.api('GET', `/api/v1/deliveries?test_run_id=${runId}`);
  expect(list.status).toBe(200);
  return list.body.total;
}

for (const backend of backends) {
  describe(`webhook filters [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let org: Receiver;
    let own: Receiver;
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all([org.close(), own.close()]);
    });

    async function setup(worker: boolean) {
      [ctx, org, own] = await Promise.all([
        createTestContext(backend, { worker }),
        startReceiver(),
        startReceiver(),
      ]);
      return ctx;
    }

    it('statuses: only listed statuses get a delivery', async () => {
      const c = await setup(true);
      const hook = await createWebhook(c, { url: org.url, filter: { statuses: ['failed', 'canceled'] } });
      expect(hook).toMatchObject({ filter: { statuses: ['failed', 'canceled'] } });
      const a = await createAgent(c);
      const passed = await finishedRun(c, a, { status: 'completed' });
      const failed = await finishedRun(c, a, { status: 'failed' });
      expect(await deliveriesOfRun(c, passed.id)).toBe(0);
      const d = await deliveryOfRun(c, failed.id);
      expect((await settled(c, d.id)).status).toBe('succeeded');
      expect(org.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([failed.id]);
    });

    it('below_pass_rate: only runs below the number; with statuses, both must hold', async () => {
      const c = await setup(false);
      await createWebhook(c, { url: org.url, filter: { below_pass_rate: 90 } });
      const a = await createAgent(c);
      const at = async (passed: number, status = 'completed') =>
        deliveriesOfRun(
          c,
          (await finishedRun(c, a, { status, passed_count: passed, failed_count: 100 - passed })).id,
        );
      expect(await at(85)).toBe(1);
      expect(await at(90)).toBe(0); // not below
      expect(await at(100)).toBe(0);

      const hooks = await c.api('GET', '/api/v1/webhooks');
      const both = await c.api('PATCH', `/api/v1/webhooks/${hooks.body.webhooks[0].id}`, {
        filter: { statuses: ['failed'], below_pass_rate: 90 },
      });
      expect(both.status).toBe(200);
      expect(both.body.filter).toEqual({ statuses: ['failed'], below_pass_rate: 90 });
      expect(await at(50, 'completed')).toBe(0);
      expect(await at(95, 'failed')).toBe(0);
      expect(await at(50, 'failed')).toBe(1);
    });

    it('filtered out by an agent webhook → no delivery, no fallback to the org webhook', async () => {
      const c = await setup(true);
      await createWebhook(c, { url: org.url });
      const a = await createAgent(c, 'A');
      await createWebhook(c, { url: own.url, agent_id: a, filter: { statuses: ['failed'] } });
      const filteredOut = await finishedRun(c, a, { status: 'completed' });
      expect(await deliveriesOfRun(c, filteredOut.id)).toBe(0);
      // A run the agent's webhook wants still goes to it; the org's receives nothing either way.
      const wanted = await finishedRun(c, a, { status: 'failed' });
      const d = await deliveryOfRun(c, wanted.id);
      expect((await settled(c, d.id)).status).toBe('succeeded');
      expect(own.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([wanted.id]);
      expect(org.requests).toHaveLength(0);
    });

    it("a disabled agent webhook still falls back to the org's, whose filter then applies", async () => {
      const c = await setup(false);
      const orgHook = await createWebhook(c, { url: org.url, filter: { statuses: ['failed'] } });
      const a = await createAgent(c, 'A');
      await createWebhook(c, { url: own.url, agent_id: a, is_enabled: false });
      expect(await deliveriesOfRun(c, (await finishedRun(c, a, { status: 'completed' })).id)).toBe(0);
      const d = await deliveryOfRun(c, (await finishedRun(c, a, { status: 'failed' })).id);
      expect(d.webhook_id).toBe(orgHook.id);
    });

    it('null or {} means every run; PATCH filter: null clears it', async () => {
      const c = await setup(false);
      const empty = await createWebhook(c, { url: org.url, filter: {} });
      expect(empty.filter).toBeNull();
      const set = await c.api('PATCH', `/api/v1/webhooks/${empty.id}`, { filter: { statuses: ['failed'] } });
      expect(set.body.filter).toEqual({ statuses: ['failed'] });
      const kept = await c.api('PATCH', `/api/v1/webhooks/${empty.id}`, { is_enabled: true });
      expect(kept.body.filter).toEqual({ statuses: ['failed'] });
      const cleared = await c.api('PATCH', `/api/v1/webhooks/${empty.id}`, { filter: null });
      expect(cleared.body.filter).toBeNull();
      const a = await createAgent(c);
      expect(await deliveriesOfRun(c, (await finishedRun(c, a, { status: 'completed' })).id)).toBe(1);
    });

    it.each([
      ['an empty status list', { statuses: [] }, 'filter.statuses'],
      ['a status that is not final', { statuses: ['running'] }, 'filter.statuses.0'],
      ['a repeated status', { statuses: ['failed', 'failed'] }, 'filter.statuses'],
      ['below_pass_rate 0', { below_pass_rate: 0 }, 'filter.below_pass_rate'],
      ['below_pass_rate over 100', { below_pass_rate: 100.5 }, 'filter.below_pass_rate'],
      ['below_pass_rate as text', { below_pass_rate: '90' }, 'filter.below_pass_rate'],
      ['an unknown key', { agent: 'x' }, 'filter.agent'],
      ['not an object', 'failed', 'filter'],
    ])(
      'refuses %s with 400 INVALID_FIELD_VALUE naming the field, on create and update',
      async (_l, filter, field) => {
        const c = await setup(false);
        const created = await c.api('POST', '/api/v1/webhooks', { url: org.url, filter });
        expect(created.status).toBe(400);
        expect(created.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field } });
        expect((await c.api('GET', '/api/v1/webhooks')).body.total).toBe(0);
        const hook = await createWebhook(c, { url: org.url });
        const updated = await c.api('PUT', `/api/v1/webhooks/${hook.id}`, { filter });
        expect(updated.status).toBe(400);
        expect(updated.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field } });
        expect((await c.api('GET', `/api/v1/webhooks/${hook.id}`)).body.filter).toBeNull();
      },
    );
  });
}
