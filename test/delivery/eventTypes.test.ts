/**
 * The event types beside a finished run's (docs/delivery.md#event-types), end to end with a real
 * worker and receivers: `test_run_started` once per run, `test_status_changed` once per change of
 * a test's state, and the organization's own `webhook_disabled` / `webhook_recovered`, sent to its
 * other subscribed webhooks, never to the endpoint concerned, once per transition.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, finishedRun, getWebhook } from './support.js';

const events = (r: Receiver) =>
  r.requests.map((q) => JSON.parse(q.body) as { event: string } & Record<string, any>);
const ofType = (r: Receiver, type: string) => events(r).filter((e) => e.event === type);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const backend of backends) {
  describe(`event types [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    async function receiversOf(n: number): Promise<Receiver[]> {
      const list = await Promise.all(Array.from({ length: n }, () => startReceiver()));
      receivers.push(...list);
      return list;
    }

    it('test_run_started fires once when a run starts, to the webhooks subscribed to it', async () => {
      ctx = await createTestContext(backend, { worker: true });
      const [started, completed] = await receiversOf(2);
      await createWebhook(ctx, { url: started!.url, events: ['test_run_started'] });
      await createWebhook(ctx, { url: completed!.url });
      const agent = await createAgent(ctx, 'A');
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agent,
        name: 'Nightly',
        total_scenarios: 4,
      });
      expect(run.status).toBe(201);
      const done = await ctx.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
        status: 'completed',
        passed_count: 4,
      });
      expect(done.status).toBe(200);
      // A run created already finished never started: no event of that type. Nor did one created
      // pending or grading (docs/delivery.md#event-types).
      await finishedRun(ctx, agent);
      for (const status of ['pending', 'grading']) {
        const notStarted = await ctx.api('POST', '/api/v1/runs', { agent_id: agent, status });
        expect(notStarted.status).toBe(201);
      }
      await eventually(async () => completed!.requests.length === 2, 10_000, 'both completions');
      await eventually(async () => started!.requests.length >= 1, 10_000, 'the start');
      await pause(200);
      expect(events(started!)).toEqual([
        {
          event: 'test_run_started',
          timestamp: expect.any(String),
          test_run: {
            id: run.body.id,
            test_run_id: run.body.test_run_id,
            name: 'Nightly',
            agent_id: agent,
            agent_name: 'A',
            status: 'running',
            total_scenarios: 4,
            started_at: expect.any(String),
          },
          results_url: expect.stringContaining(`/runs/${run.body.id}`),
        },
      ]);
      expect(events(completed!).map((e) => e.event)).toEqual(['test_run_completed', 'test_run_completed']);
    });

    it('test_status_changed fires once per change of a test’s state', async () => {
      ctx = await createTestContext(backend, { worker: true });
      const [changes] = await receiversOf(1);
      const agent = await createAgent(ctx, 'A');
      await createWebhook(ctx, { url: changes!.url, agent_id: agent, events: ['test_status_changed'] });
      const c = ctx;
      const runWith = async (t2: 'passed' | 'failed') => {
        const res = await c.api('POST', '/api/v1/runs', {
          agent_id: agent,
          name: 'Suite',
          status: t2 === 'failed' ? 'failed' : 'completed',
          results: [
            { name: 't1', suite: 's', status: 'passed' },
            { name: 't2', suite: 's', status: t2, ...(t2 === 'failed' && { message: 'boom' }) },
          ],
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body as { id: string; test_run_id: string };
      };
      const first = await runWith('failed'); // t2 becomes failing; t1 stays passing
      await eventually(async () => changes!.requests.length >= 1, 10_000, 'the first change');
      await runWith('failed'); // still failing: no change
      const third = await runWith('passed'); // passing again
      await eventually(async () => changes!.requests.length >= 2, 10_000, 'the second change');
      await pause(300);
      const seen = ofType(changes!, 'test_status_changed');
      expect(seen).toHaveLength(2);
      expect(seen[0]).toMatchObject({
        test: {
          name: 't2',
          suite: 's',
          state: 'failing',
          previous_state: 'passing',
          last_status: 'failed',
          message: 'boom',
        },
        test_run: { id: first.id, test_run_id: first.test_run_id },
      });
      expect(seen[1]).toMatchObject({
        test: {
          name: 't2',
          state: 'passing',
          previous_state: 'failing',
          last_status: 'passed',
          message: null,
        },
        test_run: { id: third.id },
      });
      const history = await c.api('GET', `/api/v1/agents/${agent}/tests?state=passing`);
      expect(history.body.tests.map((t: { id: string }) => t.id)).toContain(seen[0]!.test.id);
    });

    it('Test Webhook sends the sample of the event type asked for; one the format cannot carry is a 400', async () => {
      ctx = await createTestContext(backend, { worker: false });
      const [r] = await receiversOf(1);
      const hook = await createWebhook(ctx, { url: r!.url, format: 'slack' });
      const clix = await createWebhook(ctx, { url: r!.url, format: 'clix' });
      const sent = await ctx.api('POST', `/api/v1/webhooks/${hook.id}/test`, {
        event_type: 'test_status_changed',
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.success).toBe(true);
      const slack = JSON.parse(r!.requests[0]!.body);
      expect(slack.text).toContain('[Test webhook from Runhook]');
      expect(slack.text).toContain('is now failing');
      const standard = await createWebhook(ctx, { url: r!.url });
      await ctx.api('POST', `/api/v1/webhooks/${standard.id}/test`, { event_type: 'webhook_disabled' });
      expect(JSON.parse(r!.requests[1]!.body)).toMatchObject({ event: 'webhook_disabled', is_test: true });
      const group = await ctx.api('POST', `/api/v1/webhooks/${standard.id}/test`, {
        event_type: 'test_run_group_completed',
      });
      expect(group.body.success).toBe(true);
      // Marked as a test like every other type's sample, so a receiver can tell it from a real group.
      expect(Object.keys(JSON.parse(r!.requests[2]!.body)).slice(0, 2)).toEqual(['event', 'is_test']);
      expect(JSON.parse(r!.requests[2]!.body)).toMatchObject({
        event: 'test_run_group_completed',
        is_test: true,
        group: { runs: expect.any(Array) },
      });
      const slackGroup = await ctx.api('POST', `/api/v1/webhooks/${hook.id}/test`, {
        event_type: 'test_run_group_completed',
      });
      expect(slackGroup.body.success).toBe(true);
      expect(JSON.parse(r!.requests[3]!.body).text).toContain('[Test webhook from Runhook] Run group');
      for (const [id, body] of [
        [clix.id, { event_type: 'test_run_started' }],
        [clix.id, { event_type: 'test_run_group_completed' }],
        [hook.id, { event_type: 'nope' }],
        [hook.id, { event_type: 'test_run_started', extra: 1 }],
      ] as const) {
        const res = await ctx.api('POST', `/api/v1/webhooks/${id}/test`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe('INVALID_FIELD_VALUE');
      }
      expect(r!.requests).toHaveLength(4);
    });

    it('webhook_disabled and webhook_recovered go to the other subscribed webhooks, once per transition', async () => {
      ctx = await createTestContext(backend, {
        worker: true,
        env: { RUNHOOK_PROBE_SCHEDULE: '300ms', RUNHOOK_ALERT_INTERVAL: '0' },
      });
      const [gone, sibling, org] = await receiversOf(3);
      const agent = await createAgent(ctx, 'A');
      const health = ['webhook_disabled', 'webhook_recovered'];
      // The endpoint concerned is subscribed too: it must never get news of itself.
      const hook = await createWebhook(ctx, {
        url: gone!.url,
        agent_id: agent,
        events: ['test_run_completed', ...health],
      });
      await createWebhook(ctx, { url: sibling!.url, agent_id: agent, events: health });
      // The agent has its own subscriber: the org-level one is not used.
      await createWebhook(ctx, { url: org!.url, events: health });
      gone!.behaviour = { kind: 'status', status: 410 };
      await finishedRun(ctx, agent);
      const c = ctx;
      await eventually(
        async () => ofType(sibling!, 'webhook_disabled').length === 1,
        10_000,
        'webhook_disabled',
      );
      gone!.behaviour = { kind: 'status', status: 200 };
      await eventually(
        async () => (await getWebhook(c, hook.id)).is_enabled,
        10_000,
        'the probe to re-enable it',
      );
      await eventually(
        async () => ofType(sibling!, 'webhook_recovered').length === 1,
        10_000,
        'webhook_recovered',
      );
      await pause(500);
      expect(events(sibling!).map((e) => e.event)).toEqual(health);
      expect(events(sibling!)[0]).toMatchObject({
        webhook: { id: hook.id, agent_id: agent, host: new URL(gone!.url).host, format: 'standard' },
        reason: 'gone',
      });
      expect(events(sibling!)[1]).toMatchObject({ webhook: { id: hook.id }, reason: 'probe' });
      expect(JSON.stringify(events(sibling!))).not.toContain(gone!.url);
      expect(
        events(gone!)
          .map((e) => e.event)
          .filter((e) => health.includes(e)),
      ).toEqual([]);
      expect(org!.requests).toHaveLength(0);
    });
  });
}
