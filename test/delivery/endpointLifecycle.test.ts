/**
 * The whole life of one failing endpoint (docs/receiving-webhooks.md, "When your endpoint
 * fails"), end to end with a real worker, a real receiver switched between 500, 410 and 200, and a
 * real operator-alert receiver on loopback, with schedules shortened through configuration:
 *
 * degrade → alert → disable (failing) → runs while disabled (not rerouted, not sent) → probe
 * fails → endpoint fixed → probe re-enables → alert → dry-run count → recover → every missed event
 * delivered once with its original webhook-id; then a 410 (gone) and its probe; then a manual
 * disable, which still falls back to the organization's webhook.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../sdk/index.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  createAgent,
  createWebhook,
  type DeliveryJson,
  deliveryOfRun,
  finishedRun,
  getWebhook,
  settled,
  type WebhookJson,
} from './support.js';

const ALERT_SECRET = 'alert-secret-for-tests';

interface AlertJson {
  event: string;
  timestamp: string;
  organization: { id: string; name: string };
  webhook: { id: string; url: string; agent_id: string | null };
  reason: string | null;
  consecutive_failures: number;
}

for (const backend of backends) {
  describe(`endpoint life cycle [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    it('degrades, alerts, disables, records runs without sending, is probed back and recovers every missed event once', async () => {
      const [endpoint, orgEndpoint, alerts] = await Promise.all([
        startReceiver(),
        startReceiver(),
        startReceiver(),
      ]);
      receivers.push(endpoint, orgEndpoint, alerts);
      // The first alert attempt fails: alerts are retried on the retry schedule.
      alerts.script = [
        { kind: 'status', status: 503 },
        { kind: 'status', status: 200 },
      ];
      ctx = await createTestContext(backend, {
        worker: true,
        env: {
          RUNHOOK_RETRY_SCHEDULE: '30ms',
          RUNHOOK_DEGRADED_AFTER: '2',
          RUNHOOK_DISABLE_AFTER_FAILURES: '3',
          RUNHOOK_DISABLE_AFTER: '400ms',
          RUNHOOK_PROBE_SCHEDULE: '300ms',
          RUNHOOK_ALERT_URL: alerts.url,
          RUNHOOK_ALERT_SECRET: ALERT_SECRET,
          // Every transition alerted here; coalescing has its own test (alertCoalescing.test.ts).
          RUNHOOK_ALERT_INTERVAL: '0',
        },
      });
      const c = ctx;
      const since = new Date(Date.now() - 1000).toISOString();
      const orgHook = await createWebhook(c, { url: orgEndpoint.url });
      const agent = await createAgent(c, 'Flaky agent');
      const hook = await createWebhook(c, { url: endpoint.url, agent_id: agent });
      const run = async () => (await finishedRun(c, agent)).id;
      const webhookNow = () => getWebhook(c, hook.id);
      /** Alerts the receiver accepted, once each (a retried alert keeps its webhook-id), verified. */
      const accepted = () => {
        const seen = new Map<string, AlertJson>();
        alerts.requests.forEach((r, i) => {
          if (i === 0) return; // answered 503
          const id = String(r.headers['webhook-id']);
          if (!seen.has(id)) seen.set(id, verifyWebhook<AlertJson>(r.body, r.headers, ALERT_SECRET));
        });
        return [...seen.values()];
      };

      // 1. The endpoint answers 500. Each delivery makes two attempts; after two, the webhook is degraded.
      endpoint.behaviour = { kind: 'status', status: 500 };
      const failedRuns: string[] = [];
      failedRuns.push(await run());
      expect((await settled(c, (await deliveryOfRun(c, failedRuns[0]!)).id)).failure_reason).toBe(
        'attempts_exhausted',
      );
      expect(await webhookNow()).toMatchObject({
        health: 'degraded',
        is_enabled: true,
        consecutive_failures: 2,
      });
      const degraded = await eventually(async () => accepted()[0], 10_000, 'the degraded alert');
      expect(degraded).toMatchObject({
        event: 'webhook.degraded',
        reason: 'failing',
        organization: { id: c.orgId, name: 'default' },
        webhook: { id: hook.id, url: new URL(endpoint.url).origin, agent_id: agent },
        suppressed: 0,
      });
      expect(alerts.requests[0]!.headers['webhook-id']).toBe(alerts.requests[1]!.headers['webhook-id']);

      // 2. Two more failed deliveries, and the first failure is old enough: disabled, reason failing.
      for (let i = 0; i < 2; i++) {
        const id = await run();
        failedRuns.push(id);
        await settled(c, (await deliveryOfRun(c, id)).id);
      }
      const disabled = await eventually(
        async () => {
          const w = await webhookNow();
          return !w.is_enabled && w;
        },
        10_000,
        'automatic disable',
      );
      expect(disabled).toMatchObject({ health: 'disabled', disabled_reason: 'failing' });
      expect(Date.parse(disabled.disabled_at!)).toBeGreaterThan(Date.parse(since));
      await eventually(async () => accepted().length >= 2, 10_000, 'the disabled alert');
      expect(accepted()[1]).toMatchObject({
        event: 'webhook.disabled',
        reason: 'failing',
        webhook: { id: hook.id },
      });

      // 3. Runs while disabled: a delivery to this webhook, failed at once, never sent — and not rerouted.
      const sentToEndpoint = endpoint.requests.length;
      for (let i = 0; i < 2; i++) {
        const id = await run();
        failedRuns.push(id);
        const d = await deliveryOfRun(c, id);
        expect(d).toMatchObject({
          webhook_id: hook.id,
          status: 'failed',
          failure_reason: 'webhook_disabled',
          attempt_count: 0,
        });
      }
      expect(orgEndpoint.requests).toHaveLength(0);

      // 4. A probe comes and fails (still 500): logged as a delivery of kind probe; still disabled.
      const probe = await eventually(
        async () => {
          const list = await c.api('GET', `/api/v1/webhooks/${hook.id}/deliveries?kind=probe&status=failed`);
          return list.body.deliveries[0] as DeliveryJson | undefined;
        },
        10_000,
        'a failed probe',
      );
      expect(probe).toMatchObject({ kind: 'probe', test_run_id: null });
      const probeDetail = (await c.api('GET', `/api/v1/deliveries/${probe.id}`)).body;
      expect(probeDetail.attempts[0].trigger).toBe('probe');
      expect(JSON.parse(probeDetail.attempts[0].request.body)).toMatchObject({
        event: 'test',
        is_test: true,
      });
      expect((await webhookNow()).is_enabled).toBe(false);
      expect(endpoint.requests.length).toBeGreaterThan(sentToEndpoint);

      // 5. The endpoint is fixed: the next probe turns the webhook back on, and the operator hears of it.
      endpoint.behaviour = { kind: 'status', status: 200 };
      const back = await eventually(
        async () => {
          const w = await webhookNow();
          return w.is_enabled && w;
        },
        10_000,
        'the probe to re-enable the webhook',
      );
      expect(back).toMatchObject({
        health: 'healthy',
        disabled_reason: null,
        disabled_at: null,
        consecutive_failures: 0,
      });
      await eventually(async () => accepted().length >= 3, 10_000, 'the recovered alert');
      expect(accepted()[2]).toMatchObject({
        event: 'webhook.recovered',
        reason: 'probe',
        consecutive_failures: 0,
      });

      // 6. Dry run, then recover: every missed event once, with its original webhook-id.
      const missed = await Promise.all(failedRuns.map(async (id) => (await deliveryOfRun(c, id)).event_id));
      const recoverPath = `/api/v1/webhooks/${hook.id}/recover`;
      const dry = await c.api('POST', recoverPath, { since, dry_run: true });
      expect(dry).toMatchObject({ status: 202, body: { count: failedRuns.length, dry_run: true } });
      const beforeRecover = endpoint.requests.length;
      const done = await c.api('POST', recoverPath, { since });
      expect(done).toMatchObject({ status: 202, body: { count: failedRuns.length, dry_run: false } });
      for (const id of failedRuns) {
        const d = await eventually(async () => {
          const x = await deliveryOfRun(c, id);
          return x.status === 'succeeded' && x;
        });
        expect(d.failure_reason).toBeNull();
      }
      const resent = endpoint.requests.slice(beforeRecover).map((r) => String(r.headers['webhook-id']));
      expect(resent.sort()).toEqual([...missed].sort());
      expect(orgEndpoint.requests).toHaveLength(0);

      // 7. A 410: disabled at once (gone), alerted; the probe brings it back when the endpoint returns.
      endpoint.behaviour = { kind: 'status', status: 410 };
      const goneRun = await run();
      const goneDelivery = await settled(c, (await deliveryOfRun(c, goneRun)).id);
      expect(goneDelivery).toMatchObject({ status: 'failed', failure_reason: 'gone', attempt_count: 1 });
      expect(await webhookNow()).toMatchObject({
        is_enabled: false,
        disabled_reason: 'gone',
        health: 'disabled',
      });
      await eventually(async () => accepted().length >= 4, 10_000, 'the gone alert');
      expect(accepted()[3]).toMatchObject({ event: 'webhook.disabled', reason: 'gone' });
      endpoint.behaviour = { kind: 'status', status: 200 };
      await eventually(async () => (await webhookNow()).is_enabled, 10_000, 'the probe after 410');
      await eventually(async () => accepted().length >= 5, 10_000, 'the second recovered alert');
      expect(accepted().map((a) => a.event)).toEqual([
        'webhook.degraded',
        'webhook.disabled',
        'webhook.recovered',
        'webhook.disabled',
        'webhook.recovered',
      ]);

      // 8. Turned off by hand: no probe, no alert, and the agent's runs fall back to the org webhook.
      const off = await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { is_enabled: false });
      expect(off.body).toMatchObject({ disabled_reason: 'manual' });
      const fallback = await run();
      const fd = await settled(c, (await deliveryOfRun(c, fallback)).id);
      expect(fd).toMatchObject({ webhook_id: orgHook.id, status: 'succeeded' });
      expect(orgEndpoint.requests.map((r) => JSON.parse(r.body).test_run.id)).toEqual([fallback]);
      await new Promise((r) => setTimeout(r, 700));
      const probesAfterManual = await c.api(
        'GET',
        `/api/v1/webhooks/${hook.id}/deliveries?kind=probe&limit=100`,
      );
      expect(
        probesAfterManual.body.deliveries.filter(
          (d: DeliveryJson) => Date.parse(d.created_at) > Date.parse(off.body.disabled_at),
        ),
      ).toEqual([]);
      expect(accepted()).toHaveLength(5);
      expect(((await webhookNow()) as WebhookJson).is_enabled).toBe(false);
    }, 90_000);
  });
}
