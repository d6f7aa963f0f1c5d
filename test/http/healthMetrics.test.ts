/**
 * The endpoint-health series of /metrics (docs/monitoring.md): disabled webhooks by reason, read
 * from the database, and deliveries queued again by recover — on every backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { serveApp } from './serveApp.js';

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

for (const backend of backends) {
  describe(`endpoint health metrics [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let receiver: Receiver | undefined;
    afterEach(async () => {
      await ctx?.close();
      await receiver?.close();
    });

    it('counts disabled webhooks by reason and recovered deliveries', async () => {
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, env: { RUNHOOK_RETRY_SCHEDULE: '10ms' } }),
        startReceiver(),
      ]);
      const c = ctx;
      const served = await serveApp(c);
      const scrape = async () => (await served.call('GET', '/metrics')).text;
      const before = await scrape();
      expect(value(before, 'runhook_webhooks_disabled{reason="manual"}')).toBe(0);
      expect(value(before, 'runhook_deliveries_recovered_total')).toBe(0);

      receiver.behaviour = { kind: 'status', status: 500 };
      const hook = await createWebhook(c, { url: receiver.url });
      const agent = await createAgent(c);
      const since = new Date(Date.now() - 1000).toISOString();
      for (let i = 0; i < 2; i++)
        await settled(c, (await deliveryOfRun(c, (await finishedRun(c, agent)).id)).id);
      await createWebhook(c, { url: receiver.url, agent_id: await createAgent(c, 'Off'), is_enabled: false });
      receiver.behaviour = { kind: 'status', status: 200 };

      const dry = await served.call('POST', `/api/v1/webhooks/${hook.id}/recover`, { since, dry_run: true });
      expect(dry.body).toEqual({ count: 2, dry_run: true });
      const done = await served.call('POST', `/api/v1/webhooks/${hook.id}/recover`, { since });
      expect(done.body).toEqual({ count: 2, dry_run: false });

      const after = await scrape();
      expect(value(after, 'runhook_webhooks_disabled{reason="manual"}')).toBe(1);
      expect(value(after, 'runhook_webhooks_disabled{reason="gone"}')).toBe(0);
      expect(value(after, 'runhook_deliveries_recovered_total')).toBe(2);
      expect(value(after, 'runhook_probes_total{outcome="succeeded"}')).toBe(0);
      await served.app.close();
    });
  });
}
