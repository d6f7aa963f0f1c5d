/**
 * Operator alerts coalesce per webhook (docs/configuration.md#runhook_alert_interval), on both
 * backends, with the real worker, health monitor and a loopback alert receiver: a webhook whose
 * URL flips between a good and a bad endpoint raises a transition each time, but the operator gets
 * one alert, then (once the interval has passed) one more that tells the current state and how
 * many were suppressed. Retention deletes the alerts sent.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createRetentionSweeper } from '../../src/retention/sweeper.js';
import { type Backend, backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, getWebhook, settled } from './support.js';

const HOUR = 3_600_000;

async function alertRows(backend: Backend, url: string): Promise<number> {
  if (backend.name === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*) AS n FROM alerts')).rows[0].n);
  } finally {
    await client.end();
  }
}

for (const backend of backends) {
  describe(`operator alert coalescing [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    it('a URL flipping between good and bad endpoints does not flood the operator', async () => {
      const [good, bad, alerts] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
      receivers.push(good, bad, alerts);
      bad.behaviour = { kind: 'status', status: 500 };
      let offset = 0;
      ctx = await createTestContext(backend, {
        worker: true,
        now: () => Date.now() + offset,
        env: {
          RUNHOOK_RETRY_SCHEDULE: '30ms',
          RUNHOOK_DEGRADED_AFTER: '1',
          RUNHOOK_DISABLE_AFTER_FAILURES: '0',
          RUNHOOK_ALERT_URL: alerts.url,
          RUNHOOK_ALERT_INTERVAL: '1h',
        },
      });
      const c = ctx;
      const agent = await createAgent(c, 'Flipping agent');
      const hook = await createWebhook(c, { url: good.url, agent_id: agent });
      const deliverTo = async (url: string, health: string) => {
        expect((await c.api('PATCH', `/api/v1/webhooks/${hook.id}`, { url })).status).toBe(200);
        const run = await finishedRun(c, agent);
        await settled(c, (await deliveryOfRun(c, run.id)).id);
        await eventually(async () => (await getWebhook(c, hook.id)).health === health, 10_000, health);
      };
      const flips = 5;
      for (let i = 0; i < flips; i += 1) {
        await deliverTo(bad.url, 'degraded');
        await deliverTo(good.url, 'healthy');
      }
      // Ten transitions (degraded, recovered, ...): the first alert went out, the others wait.
      await eventually(async () => alerts.requests.length >= 1, 10_000, 'the first alert');
      await new Promise((r) => setTimeout(r, 500));
      expect(alerts.requests).toHaveLength(1);
      const first = JSON.parse(alerts.requests[0]!.body);
      expect(first).toMatchObject({ event: 'webhook.degraded', suppressed: 0 });
      expect(first.webhook).toEqual({ id: hook.id, url: new URL(bad.url).origin, agent_id: agent });

      // Past the interval: one alert with the current state and the count left unsent.
      offset = HOUR + 1_000;
      await eventually(async () => alerts.requests.length >= 2, 10_000, 'the coalesced alert');
      await new Promise((r) => setTimeout(r, 500));
      expect(alerts.requests).toHaveLength(2);
      const second = JSON.parse(alerts.requests[1]!.body);
      expect(second).toMatchObject({ event: 'webhook.recovered', suppressed: 2 * flips - 2 });

      // Retention deletes alerts sent (and suppressed) before its cutoff.
      expect(await alertRows(backend, c.db.url)).toBe(2 * flips);
      const sweeper = createRetentionSweeper({
        store: c.rt.store,
        retentionMs: HOUR,
        logger: c.rt.logger,
        now: () => Date.now() + offset + 2 * HOUR,
      });
      const totals = await sweeper.sweepOnce();
      expect(totals?.alerts).toBe(2 * flips);
      expect(await alertRows(backend, c.db.url)).toBe(0);
    }, 60_000);

    it('the newest of several waiting alerts counts every older one, whatever order they are stored in', async () => {
      ctx = await createTestContext(backend);
      const c = ctx;
      const hook = await createWebhook(c, { url: 'https://hooks.example.com/alerts' });
      const t0 = 1_800_000_000_000;
      const raw = await openRawSql(c.db.url);
      try {
        const row = (id: string, status: string, attempts: number, next: number | null, created: number) =>
          `('${id}', '${c.orgId}', '${hook.id}', 'webhook.degraded', 'failing', 3, '${status}', ${attempts}, ` +
          `${next ?? 'NULL'}, NULL, NULL, NULL, ${created}, ${created})`;
        // One alert sent at t0; then, stored newest first: C and A held back until the interval's
        // end (t0 + 1 h), and B, due since its creation, not claimed before the interval ended.
        await raw.exec(
          `INSERT INTO alerts (id, org_id, webhook_id, event, reason, consecutive_failures, status,
             attempt_count, next_attempt_at, lease_until, last_http_status, last_error, created_at, updated_at)
           VALUES ${[
             row('00000000-0000-4000-8000-000000000001', 'sent', 1, null, t0),
             row('00000000-0000-4000-8000-00000000000c', 'pending', 0, t0 + HOUR, t0 + 55_000),
             row('00000000-0000-4000-8000-00000000000a', 'pending', 0, t0 + HOUR, t0 + 5_000),
             row('00000000-0000-4000-8000-00000000000b', 'pending', 0, t0 + 50_000, t0 + 50_000),
           ].join(', ')}`,
        );
        const claimed = await c.rt.store.claimDueAlerts({
          now: t0 + HOUR + 1_000,
          limit: 20,
          leaseMs: 60_000,
          intervalMs: HOUR,
        });
        expect(claimed.map((a) => [a.id, a.suppressed])).toEqual([
          ['00000000-0000-4000-8000-00000000000c', 2],
        ]);
        const statuses = await raw.rows<{ id: string; status: string }>(
          'SELECT id, status FROM alerts ORDER BY created_at',
        );
        expect(statuses.map((r) => r.status)).toEqual(['sent', 'suppressed', 'suppressed', 'pending']);
      } finally {
        await raw.close();
      }
    });
  });
}
