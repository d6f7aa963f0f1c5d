/**
 * POST /api/v1/runs with a final status under concurrency and while webhooks and agents change
 * (docs/architecture.md#the-store): run numbers stay gap-free, the event and the delivery body
 * carry the run's own number, and a change between two runs decides the second run's delivery
 * even though SQLite keeps what it read about the webhooks for a while.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAgent,
  createWebhook,
  deliveryOfRun,
  finishedRun as finished,
  getDelivery,
  type RunJson,
} from '../delivery/support.js';

type Run = RunJson & { name: string; agent_name: string };
const finishedRun = async (ctx: TestContext, agentId: string, extra: Record<string, unknown> = {}) =>
  (await finished(ctx, agentId, extra)) as Run;

import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql, type RawSql } from '../helpers/rawSql.js';

for (const backend of backends) {
  describe(`finished runs through the API [${backend.name}]`, () => {
    let ctx: TestContext;
    let raw: RawSql | null = null;
    afterEach(async () => {
      await raw?.close();
      raw = null;
      await ctx?.close();
    });

    it('60 at once: numbers 1..60 without gaps, each event and body naming its own run', async () => {
      ctx = await createTestContext(backend);
      await createWebhook(ctx, { url: 'http://127.0.0.1:9/hook' });
      const agentId = await createAgent(ctx);
      const runs = await Promise.all(
        Array.from({ length: 60 }, (_, i) => finishedRun(ctx, agentId, { name: `run ${i}` })),
      );
      const ids = runs.map((r) => r.test_run_id).sort();
      expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => `TR-${String(i + 1).padStart(5, '0')}`));
      raw = await openRawSql(ctx.db.url);
      for (const run of runs.slice(0, 10)) {
        const delivery = await getDelivery(ctx, (await deliveryOfRun(ctx, run.id)).id);
        const payloadRun = delivery.event.payload.test_run as {
          id: string;
          test_run_id: string;
          name: string;
        };
        expect(payloadRun).toMatchObject({ id: run.id, test_run_id: run.test_run_id, name: run.name });
        const bodyHasOwnId = await raw.count(
          `SELECT count(*) FROM deliveries WHERE id = '${delivery.id}' AND body LIKE '%"test_run_id":"${run.test_run_id}"%'`,
        );
        expect(bodyHasOwnId).toBe(1);
      }
    });

    it('a webhook added, switched off or given a filter between two runs decides the second run', async () => {
      ctx = await createTestContext(backend);
      const orgHook = await createWebhook(ctx, { url: 'http://127.0.0.1:9/org' });
      const agentId = await createAgent(ctx);
      const first = await finishedRun(ctx, agentId);
      expect((await deliveryOfRun(ctx, first.id)).webhook_id).toBe(orgHook.id);

      // An agent webhook now takes the agent's runs.
      const agentHook = await createWebhook(ctx, { url: 'http://127.0.0.1:9/agent', agent_id: agentId });
      const second = await finishedRun(ctx, agentId);
      expect((await deliveryOfRun(ctx, second.id)).webhook_id).toBe(agentHook.id);

      // Turned off by a person: back to the org's.
      expect((await ctx.api('PATCH', `/api/v1/webhooks/${agentHook.id}`, { is_enabled: false })).status).toBe(
        200,
      );
      const third = await finishedRun(ctx, agentId);
      expect((await deliveryOfRun(ctx, third.id)).webhook_id).toBe(orgHook.id);

      // A filter that leaves passing runs out: no delivery at all.
      const filtered = await ctx.api('PATCH', `/api/v1/webhooks/${orgHook.id}`, {
        filter: { statuses: ['failed'] },
      });
      expect(filtered.status, JSON.stringify(filtered.body)).toBe(200);
      const fourth = await finishedRun(ctx, agentId);
      const none = await ctx.api('GET', `/api/v1/deliveries?test_run_id=${fourth.id}`);
      expect(none.body.total).toBe(0);

      // Deleted: still nothing, and the run is stored.
      expect((await ctx.api('DELETE', `/api/v1/webhooks/${orgHook.id}`)).status).toBe(204);
      const fifth = await finishedRun(ctx, agentId, { status: 'failed' });
      expect((await ctx.api('GET', `/api/v1/deliveries?test_run_id=${fifth.id}`)).body.total).toBe(0);
      expect((await ctx.api('GET', `/api/v1/runs/${fifth.id}`)).status).toBe(200);
    });

    it('an agent renamed or deleted between two runs: the new name, then AGENT_NOT_FOUND', async () => {
      ctx = await createTestContext(backend);
      await createWebhook(ctx, { url: 'http://127.0.0.1:9/org' });
      const agentId = await createAgent(ctx, 'Old name');
      expect((await finishedRun(ctx, agentId)).agent_name).toBe('Old name');
      expect((await ctx.api('PATCH', `/api/v1/agents/${agentId}`, { name: 'New name' })).status).toBe(200);
      const renamed = await finishedRun(ctx, agentId);
      expect(renamed.agent_name).toBe('New name');
      const delivery = await getDelivery(ctx, (await deliveryOfRun(ctx, renamed.id)).id);
      expect((delivery.event.payload.test_run as { agent_name: string }).agent_name).toBe('New name');
      const other = await createAgent(ctx, 'Other');
      await finishedRun(ctx, other);
      const deleted = await ctx.api('DELETE', `/api/v1/agents/${other}`);
      if (deleted.status === 204) {
        const res = await ctx.api('POST', '/api/v1/runs', { agent_id: other, status: 'completed' });
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('AGENT_NOT_FOUND');
      } else {
        // Agents with runs may not be deletable; then the run is simply accepted.
        expect(deleted.status).toBeGreaterThanOrEqual(400);
      }
    });

    it('a webhook changed behind the API between two runs decides the second run, numbers without a gap', async () => {
      ctx = await createTestContext(backend);
      const orgHook = await createWebhook(ctx, { url: 'http://127.0.0.1:9/org' });
      const agentId = await createAgent(ctx);
      // The first run reads the agent and its webhooks; the next ones check what they read, under
      // the organization's row lock, and fall back to a fresh reading when it changed.
      const first = await finishedRun(ctx, agentId);
      expect((await deliveryOfRun(ctx, first.id)).webhook_id).toBe(orgHook.id);

      raw = await openRawSql(ctx.db.url);
      await raw.exec(
        `UPDATE webhooks SET is_enabled = 0, disabled_reason = 'gone', disabled_at = 1 WHERE id = '${orgHook.id}'`,
      );
      const second = await finishedRun(ctx, agentId);
      expect(await deliveryOfRun(ctx, second.id)).toMatchObject({
        webhook_id: orgHook.id,
        status: 'failed',
        failure_reason: 'webhook_disabled',
      });

      await raw.exec(`UPDATE webhooks SET deleted_at = 2, scope_key = NULL WHERE id = '${orgHook.id}'`);
      const third = await finishedRun(ctx, agentId);
      expect((await ctx.api('GET', `/api/v1/deliveries?test_run_id=${third.id}`)).body.total).toBe(0);
      const fourth = await finishedRun(ctx, agentId);
      expect((await ctx.api('GET', `/api/v1/deliveries?test_run_id=${fourth.id}`)).body.total).toBe(0);

      // A check that failed stored nothing and took no number.
      expect([first, second, third, fourth].map((r) => r.test_run_id)).toEqual([
        'TR-00001',
        'TR-00002',
        'TR-00003',
        'TR-00004',
      ]);
      expect(await raw.count('SELECT count(*) FROM test_runs')).toBe(4);
      expect(await raw.count('SELECT count(*) FROM events')).toBe(4);
    });

    it('run numbers past 99999 are written out whole: in the run, its event and its body', async () => {
      ctx = await createTestContext(backend);
      await createWebhook(ctx, { url: 'http://127.0.0.1:9/org' });
      const agentId = await createAgent(ctx);
      await finishedRun(ctx, agentId);
      raw = await openRawSql(ctx.db.url);
      await raw.exec('UPDATE organizations SET run_seq = 99998');
      const runs: Run[] = [];
      for (let i = 0; i < 3; i++) runs.push(await finishedRun(ctx, agentId));
      expect(runs.map((r) => r.test_run_id)).toEqual(['TR-99999', 'TR-100000', 'TR-100001']);
      for (const run of runs) {
        expect((await ctx.api('GET', `/api/v1/runs/${run.test_run_id}`)).body.id).toBe(run.id);
        const delivery = await getDelivery(ctx, (await deliveryOfRun(ctx, run.id)).id);
        expect(delivery.event.payload.test_run).toMatchObject({ id: run.id, test_run_id: run.test_run_id });
        const bodyHasOwnId = await raw.count(
          `SELECT count(*) FROM deliveries WHERE id = '${delivery.id}' AND body LIKE '%"test_run_id":"${run.test_run_id}"%'`,
        );
        expect(bodyHasOwnId).toBe(1);
      }
    });

    it('a name that contains digits like a run number is stored as sent', async () => {
      ctx = await createTestContext(backend);
      await createWebhook(ctx, { url: 'http://127.0.0.1:9/org' });
      const agentId = await createAgent(ctx);
      const name = 'TR-1234567890123456 and TR-00001';
      const run = await finishedRun(ctx, agentId, { name });
      expect(run.name).toBe(name);
      const delivery = await getDelivery(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(delivery.event.payload.test_run).toMatchObject({ name, test_run_id: run.test_run_id });
    });
  });
}
