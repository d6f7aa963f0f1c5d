/**
 * Run groups end to end (docs/delivery.md#run-groups): `group` and `group_size` on runs, one
 * `test_run_group_completed` per group by its size or by the window, delivered to a real receiver,
 * a late run ignored, bad input refused with nothing stored, and two finishes at once settling it
 * once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGroupSweep } from '../../src/delivery/groupSweep.js';
import { createAgent, createWebhook } from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql, type RawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const GROUP_EVENTS = `SELECT count(*) FROM events WHERE type = 'test_run_group_completed'`;

for (const backend of backends) {
  describe(`run groups [${backend.name}]`, () => {
    let ctx: TestContext;
    let raw: RawSql | null = null;
    let receiver: Receiver | null = null;
    // The app's and the sweep's clock: a test about the window moves it forward instead of sleeping.
    let skew = 0;
    const clock = () => Date.now() + skew;
    const passTheWindow = () => {
      skew += ctx.config.groupWindowMs + 100;
    };
    afterEach(async () => {
      await raw?.close();
      raw = null;
      await receiver?.close();
      receiver = null;
      await ctx?.close();
    });

    async function open(options: { worker?: boolean } = {}) {
      skew = 0;
      ctx = await createTestContext(backend, {
        worker: options.worker ?? false,
        env: { RUNHOOK_GROUP_WINDOW: '2m' },
        now: clock,
      });
      raw = await openRawSql(ctx.db.url);
      return raw;
    }

    async function startRun(agentId: string, body: Record<string, unknown>) {
      const res = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; test_run_id: string; group: string | null; group_size: number | null };
    }

    async function complete(id: string, body: Record<string, unknown>) {
      const res = await ctx.api('POST', `/api/v1/runs/${id}/complete`, { status: 'completed', ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    }

    const sweep = () =>
      createGroupSweep({
        store: ctx.rt.store,
        windowMs: ctx.config.groupWindowMs,
        publicUrl: ctx.config.publicUrl,
        logger: ctx.rt.logger,
        now: clock,
      }).sweepOnce();

    it('3 shards with group_size 3: one event after the third finishes, with the sums', async () => {
      const db = await open({ worker: true });
      receiver = await startReceiver();
      await createWebhook(ctx, {
        url: `${receiver.url}/hook`,
        events: ['test_run_completed', 'test_run_group_completed'],
      });
      const agentId = await createAgent(ctx);
      // A baseline for shard 1, so its run in the group has changes: one new failure.
      await startRun(agentId, { name: 'shard 1', status: 'completed', passed_count: 10 });
      const shards = [];
      for (let i = 1; i <= 3; i++)
        shards.push(await startRun(agentId, { name: `shard ${i}`, group: 'build-42', group_size: 3 }));
      expect(shards[0]).toMatchObject({ group: 'build-42', group_size: 3 });
      const got = await ctx.api('GET', `/api/v1/runs/${shards[1]!.test_run_id}`);
      expect(got.body).toMatchObject({ group: 'build-42', group_size: 3 });

      await complete(shards[0]!.id, {
        passed_count: 9,
        failed_count: 1,
        failures: [{ name: 'pays by card', classname: 'checkout', message: 'declined' }],
      });
      await complete(shards[1]!.id, { passed_count: 10 });
      expect(await db.count(GROUP_EVENTS)).toBe(0);
      await complete(shards[2]!.id, { passed_count: 8, error_count: 2 });
      expect(await db.count(GROUP_EVENTS)).toBe(1);
      // The sweep finds nothing more to do, even long after.
      expect(await sweep()).toBe(0);

      // 1 baseline run + 3 runs + 1 group: five deliveries to the org's webhook.
      await receiver.waitFor(5);
      const bodies = receiver.requests.map((r) => JSON.parse(r.body));
      const groups = bodies.filter((b) => b.event === 'test_run_group_completed');
      expect(groups).toHaveLength(1);
      const g = groups[0].group;
      expect(g).toMatchObject({
        name: 'build-42',
        group_size: 3,
        completed_by: 'group_size',
        agent_id: agentId,
        status: 'completed',
        run_count: 3,
        passed_count: 27,
        failed_count: 1,
        error_count: 2,
        total_scenarios: 30,
        pass_rate: 90,
      });
      expect(g.runs.map((r: { test_run_id: string }) => r.test_run_id)).toEqual(
        shards.map((s) => s.test_run_id),
      );
      expect(g.changes.counts.new_failures).toBe(1);
      expect(g.changes.new_failures).toEqual([
        { name: 'pays by card', suite: 'checkout', message: 'declined', test_run_id: shards[0]!.test_run_id },
      ]);
      const delivery = await ctx.api('GET', '/api/v1/deliveries?limit=10');
      const groupDelivery = delivery.body.deliveries.find(
        (d: { test_run_id: string | null }) => d.test_run_id === null,
      );
      expect(groupDelivery).toBeDefined();
      const detail = await ctx.api('GET', `/api/v1/deliveries/${groupDelivery.id}`);
      expect(detail.body.event.type).toBe('test_run_group_completed');
    });

    it('without a size: complete once all are final and the window passed; a late run starts nothing', async () => {
      // The window is 2 minutes of the moved clock: a sweep right after a finish falls inside it
      // however loaded the machine is.
      const db = await open();
      await createWebhook(ctx, {
        url: 'http://127.0.0.1:9/hook',
        events: ['test_run_completed', 'test_run_group_completed'],
      });
      const agentId = await createAgent(ctx);
      await startRun(agentId, { name: 'a', group: 'nightly', status: 'completed', passed_count: 1 });
      const open2 = await startRun(agentId, { name: 'b', group: 'nightly' });
      passTheWindow();
      // Quiet for the window, but one run is still running.
      expect(await sweep()).toBe(0);
      await complete(open2.id, { passed_count: 2, failed_count: 1 });
      // Its finish is activity: the window starts again.
      expect(await sweep()).toBe(0);
      passTheWindow();
      expect(await sweep()).toBe(1);
      expect(await sweep()).toBe(0);
      expect(await db.count(GROUP_EVENTS)).toBe(1);
      const payload = JSON.parse(
        (
          await db.rows<{ payload: string }>(
            `SELECT payload FROM events WHERE type = 'test_run_group_completed'`,
          )
        )[0]!.payload,
      );
      expect(payload.group).toMatchObject({
        name: 'nightly',
        group_size: null,
        completed_by: 'window',
        status: 'completed',
        passed_count: 3,
        failed_count: 1,
        run_count: 2,
      });

      // A run joining after the group completed: accepted, shown in its group, its own event as
      // always, and no second group event, whether it finishes at once or later.
      const late = await startRun(agentId, { name: 'c', group: 'nightly', group_size: 1 });
      expect(late.group).toBe('nightly');
      await complete(late.id, { passed_count: 1 });
      await startRun(agentId, { name: 'd', group: 'nightly', status: 'completed', passed_count: 1 });
      passTheWindow();
      expect(await sweep()).toBe(0);
      expect(await db.count(GROUP_EVENTS)).toBe(1);
      expect(await db.count(`SELECT count(*) FROM events WHERE type = 'test_run_completed'`)).toBe(4);
    });

    it('group_size below 1, a fractional size, a size without a group or a group name too long: 400, nothing stored', async () => {
      const db = await open();
      const agentId = await createAgent(ctx);
      for (const bad of [
        { group: 'g', group_size: 0 },
        { group: 'g', group_size: -2 },
        { group: 'g', group_size: 1.5 },
        { group: 'g', group_size: '3' },
        { group: '' },
        { group: 'x'.repeat(201) },
        { group: 'g', group_size: 0, status: 'completed', passed_count: 1 },
        { group_size: 2 },
        { group_size: 1, status: 'completed', passed_count: 1 },
      ]) {
        const res = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId, ...bad });
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(res.body.code).toBe('INVALID_FIELD_VALUE');
        expect(res.body.details?.field).toMatch(/^group/);
      }
      expect(await db.count('SELECT count(*) FROM test_runs')).toBe(0);
      expect(await db.count('SELECT count(*) FROM run_groups')).toBe(0);
      expect(await db.count('SELECT count(*) FROM organizations WHERE run_seq > 0')).toBe(0);
      // 200 characters is fine.
      await startRun(agentId, { group: 'x'.repeat(200), group_size: 1 });
    });

    it('runs of two agents go to the org-level webhook; agent webhooks not subscribed fall back to it', async () => {
      const db = await open();
      const a = await createAgent(ctx, 'A');
      const b = await createAgent(ctx, 'B');
      const org = await createWebhook(ctx, {
        url: 'http://127.0.0.1:9/org',
        events: ['test_run_completed', 'test_run_group_completed'],
      });
      const agentHook = await createWebhook(ctx, { url: 'http://127.0.0.1:9/a', agent_id: a });
      await startRun(a, { group: 'mixed', group_size: 2, status: 'completed', passed_count: 1 });
      await startRun(b, { group: 'mixed', group_size: 2, status: 'failed', failed_count: 1 });
      const rows = await db.rows<{ webhook_id: string; payload: string }>(
        `SELECT d.webhook_id, e.payload FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.type = 'test_run_group_completed'`,
      );
      expect(rows.map((r) => r.webhook_id)).toEqual([org.id]);
      expect(JSON.parse(rows[0]!.payload).group).toMatchObject({ agent_id: null, status: 'failed' });
      expect(agentHook.id).not.toBe(org.id);

      // One agent whose only webhook is in clix format, which cannot subscribe to group events: its
      // group's event falls back to the org-level webhook subscribed to them.
      const c = await createAgent(ctx, 'C');
      const clix = await createWebhook(ctx, { url: 'http://127.0.0.1:9/c', agent_id: c, format: 'clix' });
      const refused = await ctx.api('PATCH', `/api/v1/webhooks/${clix.id}`, {
        events: ['test_run_group_completed'],
      });
      expect(refused.status).toBe(400);
      await startRun(c, { group: 'clix-group', group_size: 1, status: 'completed', passed_count: 1 });
      expect(await db.count(GROUP_EVENTS)).toBe(2);
      const groupDeliveries = await db.rows<{ webhook_id: string }>(
        `SELECT d.webhook_id FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.type = 'test_run_group_completed'`,
      );
      expect(groupDeliveries.map((r) => r.webhook_id)).toEqual([org.id, org.id]);
    });

    it('the last two runs finishing at once: one event', async () => {
      const db = await open();
      await createWebhook(ctx, {
        url: 'http://127.0.0.1:9/hook',
        events: ['test_run_completed', 'test_run_group_completed'],
      });
      const agentId = await createAgent(ctx);
      for (let round = 0; round < 5; round++) {
        const group = `race-${round}`;
        const runs = [];
        for (let i = 0; i < 4; i++)
          runs.push(await startRun(agentId, { name: `s${i}`, group, group_size: 4 }));
        await Promise.all(runs.map((r) => complete(r.id, { passed_count: 1 })));
        expect(
          await db.count(
            `SELECT count(*) FROM events WHERE type = 'test_run_group_completed' AND payload LIKE '%"name":"${group}"%'`,
          ),
          group,
        ).toBe(1);
      }
    });
  });
}
