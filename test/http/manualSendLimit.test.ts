/**
 * Manual sends are bounded per webhook (docs/operations.md#limits): Test Webhook, redeliver and
 * recover share RUNHOOK_MANUAL_SEND_LIMIT sends a minute per webhook, then 429 RATE_LIMITED with
 * Retry-After.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualSendLimiter } from '../../src/http/manualSendLimit.js';
import {
  closedPort,
  createAgent,
  createWebhook,
  deliveryOfRun,
  finishedRun,
  settled,
} from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('ManualSendLimiter (a sliding minute)', () => {
  it('allows the limit within any minute, then says how long to wait', () => {
    const l = new ManualSendLimiter(3);
    expect([l.take('w', 0), l.take('w', 10_000), l.take('w', 20_000)]).toEqual([0, 0, 0]);
    expect(l.take('w', 30_000)).toBe(30); // the send at 0 frees up at 60 s
    expect(l.take('other', 30_000)).toBe(0); // per webhook
    expect(l.take('w', 59_999)).toBe(1);
    expect(l.take('w', 60_001)).toBe(0);
    expect(l.take('w', 60_002)).toBe(10); // 10 s, 20 s and 60.001 s are in the window: 10 s frees at 70 s
  });

  it('a send given back does not count', () => {
    const l = new ManualSendLimiter(1);
    expect(l.take('w', 1_000)).toBe(0);
    l.giveBack('w', 1_000);
    expect(l.take('w', 2_000)).toBe(0);
    expect(l.take('w', 3_000)).toBeGreaterThan(0);
  });
});

for (const backend of backends) {
  describe(`manual send limit over the API (${backend.name})`, () => {
    let ctx: TestContext;
    beforeEach(async () => {
      ctx = await createTestContext(backend, { worker: true, env: { RUNHOOK_MANUAL_SEND_LIMIT: '3' } });
    });
    afterEach(async () => {
      await ctx.close();
    });

    it('redeliver and recover share the limit per webhook; then 429 RATE_LIMITED with Retry-After', async () => {
      const url = `http://127.0.0.1:${await closedPort()}/hook`;
      const orgHook = await createWebhook(ctx, { url });
      const agent = await createAgent(ctx, 'own webhook');
      await createWebhook(ctx, { url, agent_id: agent });
      const other = await createAgent(ctx, 'org webhook');
      const failed = await settled(ctx, (await deliveryOfRun(ctx, (await finishedRun(ctx, other)).id)).id);
      expect(failed.status).toBe('failed');
      const mine = await settled(ctx, (await deliveryOfRun(ctx, (await finishedRun(ctx, agent)).id)).id);

      const redeliver = (id: string) => ctx.api('POST', `/api/v1/deliveries/${id}/redeliver`);
      const recover = (dryRun: boolean) =>
        ctx.api('POST', `/api/v1/webhooks/${orgHook.id}/recover`, {
          since: new Date(Date.now() - 3_600_000).toISOString(),
          dry_run: dryRun,
        });

      expect((await redeliver(failed.id)).status).toBe(202); // 1
      await settled(ctx, failed.id);
      expect((await redeliver(failed.id)).status).toBe(202); // 2
      await settled(ctx, failed.id);
      // Nothing is sent by a dry run, a 404 or a 409: they do not count.
      expect((await recover(true)).status).toBe(202);
      expect((await redeliver('00000000-0000-4000-8000-000000000000')).status).toBe(404);
      const third = await recover(false); // 3
      expect(third.status).toBe(202);
      expect(third.body.count).toBe(1);
      await settled(ctx, failed.id);

      const refused = await redeliver(failed.id);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({
        code: 'RATE_LIMITED',
        details: { retry_after_seconds: expect.any(Number) },
      });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await recover(false)).status).toBe(429);
      // Still pending? No: the refused ones changed nothing.
      expect((await ctx.api('GET', `/api/v1/deliveries/${failed.id}`)).body.status).toBe('failed');

      // Test Webhook takes from the same minute.
      const test = await ctx.api('POST', `/api/v1/webhooks/${orgHook.id}/test`);
      expect(test.status).toBe(429);
      expect(test.body.code).toBe('RATE_LIMITED');

      // Another webhook has its own minute.
      expect((await redeliver(mine.id)).status).toBe(202);

      // Another organization learns nothing from the spent budget: ownership is checked first, so
      // it gets 404 (not 429) from Test Webhook, redeliver and recover alike.
      const intruder = await ctx.newOrg('intruder');
      const as = (method: string, path: string, body?: unknown) =>
        ctx.api(method, path, body, intruder.apiKey);
      for (const res of [
        await as('POST', `/api/v1/webhooks/${orgHook.id}/test`),
        await as('POST', `/api/v1/deliveries/${failed.id}/redeliver`),
        await as('POST', `/api/v1/webhooks/${orgHook.id}/recover`, {
          since: new Date(Date.now() - 3_600_000).toISOString(),
        }),
      ]) {
        expect(res.status, JSON.stringify(res.body)).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
        expect(res.headers['retry-after']).toBeUndefined();
      }
    });
  });
}
