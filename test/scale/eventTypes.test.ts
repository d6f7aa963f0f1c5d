/**
 * Every event type exactly once per occurrence with several webhooks per scope, on PostgreSQL with
 * two `runhook worker` processes (docs/delivery.md#event-types): runs started and finished with
 * scenario results whose test flips state each time, to two org-level webhooks and an agent's, and
 * one endpoint that answers 410, whose `webhook_disabled` reaches the others once.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { Processes, scaleBackend, sqlClient } from './support.js';

const RUNS = 60;
const LEASE_MS = 3_000;

beforeAll(() => ensureBuilt(), 120_000);

describe.skipIf(!scaleBackend)('event types with two worker processes on PostgreSQL', () => {
  let ctx: TestContext | undefined;
  let receivers: Receiver[] = [];
  const processes = new Processes();

  afterEach(async () => {
    await processes.killAll();
    await ctx?.close();
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  it('each webhook gets each event it is routed to once', async () => {
    ctx = await createTestContext(scaleBackend!);
    const c = ctx;
    receivers = await Promise.all([startReceiver(), startReceiver(), startReceiver(), startReceiver()]);
    const [orgA, orgB, agentOnly, gone] = receivers as [Receiver, Receiver, Receiver, Receiver];
    gone.behaviour = { kind: 'status', status: 410 };
    const agent = await c.api('POST', '/api/v1/agents', { name: 'A' });
    const all = ['test_run_completed', 'test_run_started', 'test_status_changed', 'webhook_disabled'];
    for (const r of [orgA, orgB]) {
      expect((await c.api('POST', '/api/v1/webhooks', { url: r.url, events: all })).status).toBe(201);
    }
    // The agent's own: starts only (its completions and test changes fall back to the org's two).
    const own = { url: agentOnly.url, agent_id: agent.body.id, events: ['test_run_started'] };
    expect((await c.api('POST', '/api/v1/webhooks', own)).status).toBe(201);
    const goneHook = await c.api('POST', '/api/v1/webhooks', {
      url: gone.url,
      events: ['test_run_completed'],
    });

    const procs = [0, 1].map(() =>
      processes.start(['worker'], { RUNHOOK_DATABASE_URL: c.db.url, RUNHOOK_CLAIM_LEASE: `${LEASE_MS}ms` }),
    );
    await Promise.all(procs.map((p) => p.waitForOutput('started')));

    for (let i = 0; i < RUNS; i++) {
      const run = await c.api('POST', '/api/v1/runs', { agent_id: agent.body.id, name: 'flip' });
      expect(run.status).toBe(201);
      // t flips between passing and failing: a state change every run (flaky once it flipped often).
      const status = i % 2 === 0 ? 'failed' : 'passed';
      const done = await c.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
        status: status === 'failed' ? 'failed' : 'completed',
        results: [{ name: 't', status }],
      });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
    }

    const db = await sqlClient(c.db.url);
    try {
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'",
          );
          return rows[0]?.n === 0;
        },
        60_000,
        'every delivery to settle',
      );
      await eventually(
        async () => orgA.requests.some((r) => JSON.parse(r.body).event === 'webhook_disabled'),
        30_000,
        'webhook_disabled',
      );
      // A second send could only come from a lease that ran out: wait past one.
      await new Promise((r) => setTimeout(r, LEASE_MS + 500));

      const { rows: changes } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM events WHERE type = 'test_status_changed'",
      );
      const stateChanges = changes[0]?.n ?? 0;
      expect(stateChanges).toBeGreaterThan(0);
      for (const r of [orgA, orgB]) {
        const ids = r.requests.map((q) => String(q.headers['webhook-id']));
        expect(new Set(ids).size).toBe(ids.length);
        const types = r.requests.map((q) => JSON.parse(q.body).event as string);
        const count = (t: string) => types.filter((x) => x === t).length;
        expect(count('test_run_completed')).toBe(RUNS);
        expect(count('test_run_started')).toBe(0);
        expect(count('test_status_changed')).toBe(stateChanges);
        expect(count('webhook_disabled')).toBe(1);
      }
      const startIds = agentOnly.requests.map((q) => String(q.headers['webhook-id']));
      expect(new Set(startIds).size).toBe(RUNS);
      expect(startIds).toHaveLength(RUNS);
      // The endpoint that answered 410 was told nothing about itself.
      expect(gone.requests.every((q) => JSON.parse(q.body).event === 'test_run_completed')).toBe(true);
      const disabled = orgA.requests
        .map((q) => JSON.parse(q.body))
        .find((b) => b.event === 'webhook_disabled');
      expect(disabled).toMatchObject({ webhook: { id: goneHook.body.id }, reason: 'gone' });
    } finally {
      await db.end();
    }
  }, 150_000);
});
