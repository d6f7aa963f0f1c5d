/**
 * Every event type exactly once per occurrence with several webhooks per scope while the process
 * that sends is SIGKILLed again and again (docs/delivery.md#event-types):
 * - PostgreSQL, two `runhook worker` processes, one of them killed 300-400 ms after each start
 *   and started again, from before the first run until the last delivery has settled;
 * - SQLite, one `runhook serve` killed the same way and started again on the same file.
 * Runs are created running (`test_run_started`), some in groups with a `group_size`
 * (`test_run_group_completed`), and finished with scenario results whose test flips state each
 * time (`test_status_changed`); they go to two org-level webhooks and an agent's, and to one
 * endpoint that answers 410, whose `webhook_disabled` and then `webhook_recovered` (a person
 * turns it back on) reach the others once.
 *
 * What "exactly once" means under SIGKILL: delivery is at least once
 * (docs/delivery.md#leases-and-at-least-once). A worker killed after its request left but before
 * it recorded the answer cannot know the receiver saw it, so the next owner sends it again and the
 * history shows the lost send as a `worker_lost` attempt. So the test asserts exactly once on the
 * recorded history (one event per occurrence, one delivery per event and webhook, each succeeded by
 * exactly one 2xx attempt, every other attempt `worker_lost`) and, at each receiver, every event id
 * at least once and at most once more than its delivery's `worker_lost` attempts: a receiver that
 * deduplicates on `webhook-id` sees each occurrence exactly once.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBackend } from '../helpers/backends.js';
import { ensureBuilt, type Spawned } from '../helpers/cli.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/freePort.js';
import { openRawSql, type RawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { Processes, scaleBackend } from './support.js';

/** Runs, each started and then finished; the first GROUPS × GROUP_SIZE of them form groups. */
const RUNS = 60;
const GROUPS = 6;
const GROUP_SIZE = 4;
const LEASE_MS = 3_000;
/** Health events go out at once (no coalescing wait), for the API process and the senders alike. */
const HEALTH_ENV = { RUNHOOK_ALERT_INTERVAL: '0' };
const ALL_TYPES = [
  'test_run_completed',
  'test_run_started',
  'test_run_group_completed',
  'test_status_changed',
  'webhook_disabled',
  'webhook_recovered',
];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scenario {
  orgA: Receiver;
  orgB: Receiver;
  agentOnly: Receiver;
  gone: Receiver;
  agentId: string;
  hookIds: Map<Receiver, string>;
}

/** Four receivers answering after 150 ms (so every kill finds requests on the wire), one with 410. */
async function setUpWebhooks(c: TestContext): Promise<Scenario> {
  const [orgA, orgB, agentOnly, gone] = await Promise.all([0, 1, 2, 3].map(() => startReceiver()));
  for (const r of [orgA!, orgB!, agentOnly!]) r.behaviour = { kind: 'slow', delayMs: 150 };
  gone!.behaviour = { kind: 'status', status: 410 };
  const agent = await c.api('POST', '/api/v1/agents', { name: 'A' });
  const hookIds = new Map<Receiver, string>();
  const create = async (r: Receiver, body: Record<string, unknown>) => {
    const res = await c.api('POST', '/api/v1/webhooks', { url: r.url, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    hookIds.set(r, res.body.id);
  };
  await create(orgA!, { events: ALL_TYPES });
  await create(orgB!, { events: ALL_TYPES });
  // The agent's own: starts only (its completions, groups and test changes fall back to the org's).
  await create(agentOnly!, { agent_id: agent.body.id, events: ['test_run_started'] });
  await create(gone!, { events: ['test_run_completed'] });
  return { orgA: orgA!, orgB: orgB!, agentOnly: agentOnly!, gone: gone!, agentId: agent.body.id, hookIds };
}

/**
 * Starts and finishes the runs one after the other, a little apart. Before each third of them
 * after the first it waits for one more kill, so however slowly processes start on a loaded
 * machine, kills fall among the runs (and the groups, which are the first runs).
 */
async function runTraffic(c: TestContext, agentId: string, kills: () => number): Promise<void> {
  const third = RUNS / 3;
  for (let i = 0; i < RUNS; i++) {
    if (i > 0 && i % third === 0) {
      const before = i / third;
      await eventually(async () => kills() >= before, 60_000, `kill ${before} among the runs`);
    }
    const grouped =
      i < GROUPS * GROUP_SIZE ? { group: `build-${Math.floor(i / GROUP_SIZE)}`, group_size: GROUP_SIZE } : {};
    const run = await c.api('POST', '/api/v1/runs', { agent_id: agentId, name: `flip ${i}`, ...grouped });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    await pause(30);
    // t flips between passing and failing: a state change on most runs.
    const status = i % 2 === 0 ? 'failed' : 'passed';
    const done = await c.api('POST', `/api/v1/runs/${run.body.id}/complete`, {
      status: status === 'failed' ? 'failed' : 'completed',
      results: [{ name: 't', status }],
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await pause(30);
  }
}

const eventsOf = (r: Receiver, type: string) =>
  r.requests.map((q) => JSON.parse(q.body)).filter((b) => b.event === type);

/** Waits for the 410 endpoint's `webhook_disabled`, then turns it back on: one `webhook_recovered`. */
async function disableAndRecover(c: TestContext, s: Scenario): Promise<void> {
  await eventually(
    async () =>
      eventsOf(s.orgA, 'webhook_disabled').length > 0 && eventsOf(s.orgB, 'webhook_disabled').length > 0,
    60_000,
    'webhook_disabled at both org webhooks',
  );
  s.gone.behaviour = { kind: 'status', status: 200 };
  const on = await c.api('PATCH', `/api/v1/webhooks/${s.hookIds.get(s.gone)}`, { is_enabled: true });
  expect(on.status, JSON.stringify(on.body)).toBe(200);
  await eventually(
    async () =>
      eventsOf(s.orgA, 'webhook_recovered').length > 0 && eventsOf(s.orgB, 'webhook_recovered').length > 0,
    60_000,
    'webhook_recovered at both org webhooks',
  );
}

async function waitSettled(raw: RawSql): Promise<void> {
  await eventually(
    async () => (await raw.count("SELECT count(*) FROM deliveries WHERE status = 'pending'")) === 0,
    90_000,
    'every delivery to settle',
  );
}

interface Row {
  id: string;
  event_id: string;
  type: string;
  status: string;
}

/**
 * The exactly-once checks (see the file's comment) for every webhook; returns the receivers'
 * requests, duplicates and `worker_lost` attempts, for the report.
 */
async function checkExactlyOnce(
  raw: RawSql,
  s: Scenario,
): Promise<{ requests: number; duplicates: number; lost: number }> {
  const perType = new Map(
    (await raw.rows<{ type: string; n: number }>('SELECT type, count(*) AS n FROM events GROUP BY type')).map(
      (r) => [r.type, Number(r.n)],
    ),
  );
  const changes = perType.get('test_status_changed') ?? 0;
  expect(changes).toBeGreaterThan(0);
  expect(Object.fromEntries(perType)).toEqual({
    test_run_completed: RUNS,
    test_run_started: RUNS,
    test_run_group_completed: GROUPS,
    test_status_changed: changes,
    webhook_disabled: 1,
    webhook_recovered: 1,
  });
  // One delivery per (event, webhook), whatever the kills did.
  const twice = await raw.rows(
    "SELECT event_id, webhook_id FROM deliveries WHERE kind = 'event' GROUP BY event_id, webhook_id HAVING count(*) > 1",
  );
  expect(twice).toEqual([]);

  const orgTypes = { ...Object.fromEntries(perType), test_run_started: 0 };
  const expected = new Map<Receiver, Record<string, number>>([
    [s.orgA, orgTypes],
    [s.orgB, orgTypes],
    [s.agentOnly, { test_run_started: RUNS }],
  ]);
  let requests = 0;
  let duplicates = 0;
  let lostTotal = 0;
  for (const [r, types] of expected) {
    const hook = s.hookIds.get(r);
    const rows = await raw.rows<Row>(
      `SELECT d.id, d.event_id, e.type, d.status FROM deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.webhook_id = '${hook}' AND d.kind = 'event'`,
    );
    const count = (t: string) => rows.filter((row) => row.type === t).length;
    for (const t of ALL_TYPES) expect(count(t), `${t} deliveries`).toBe(types[t] ?? 0);
    expect(rows.every((row) => row.status === 'succeeded')).toBe(true);
    const attempts = await raw.rows<{
      delivery_id: string;
      http_status: number | null;
      error_class: string | null;
    }>(
      `SELECT a.delivery_id, a.http_status, a.error_class FROM attempts a
       JOIN deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = '${hook}'`,
    );
    const ok = new Map<string, number>();
    const lost = new Map<string, number>();
    for (const a of attempts) {
      if (a.http_status !== null && a.http_status >= 200 && a.http_status < 300) {
        ok.set(a.delivery_id, (ok.get(a.delivery_id) ?? 0) + 1);
      } else {
        // A kill is the only failure here: every receiver answers 200.
        expect(a.error_class).toBe('worker_lost');
        lost.set(a.delivery_id, (lost.get(a.delivery_id) ?? 0) + 1);
      }
    }
    for (const row of rows) expect(ok.get(row.id), `2xx attempts of ${row.id}`).toBe(1);

    const hits = new Map<string, number>();
    for (const q of r.requests) {
      const id = String(q.headers['webhook-id']);
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    // None missing, none that has no delivery to this webhook.
    expect([...hits.keys()].sort()).toEqual(rows.map((row) => row.event_id).sort());
    for (const row of rows) {
      const extra = (hits.get(row.event_id) ?? 0) - 1;
      expect(extra, `repeats of ${row.event_id} (a ${row.type})`).toBeLessThanOrEqual(lost.get(row.id) ?? 0);
      duplicates += extra;
    }
    requests += r.requests.length;
    lostTotal += [...lost.values()].reduce((a, b) => a + b, 0);
  }
  for (const r of [s.orgA, s.orgB]) {
    // One group event per group, told apart by name as well as by id.
    const names = new Set(eventsOf(r, 'test_run_group_completed').map((b) => b.group.name));
    expect(names.size).toBe(GROUPS);
    const disabled = eventsOf(r, 'webhook_disabled')[0];
    expect(disabled).toMatchObject({ webhook: { id: s.hookIds.get(s.gone) }, reason: 'gone' });
  }
  // The endpoint that answered 410 was told nothing about itself, and nothing else was sent to it.
  expect(s.gone.requests.every((q) => JSON.parse(q.body).event === 'test_run_completed')).toBe(true);
  const goneSucceeded = await raw.count(
    `SELECT count(*) FROM deliveries WHERE webhook_id = '${s.hookIds.get(s.gone)}' AND status <> 'failed'`,
  );
  expect(goneSucceeded).toBe(0);
  return { requests, duplicates, lost: lostTotal };
}

/** Starts `start()`'s process, kills it 300-400 ms after it is up, again and again until stopped. */
function killLoop(start: () => Promise<Spawned>) {
  let stopped = false;
  let kills = 0;
  let firstUp: () => void = () => {};
  const up = new Promise<void>((resolve) => {
    firstUp = resolve;
  });
  const loop = (async () => {
    while (!stopped) {
      const victim = await start();
      firstUp();
      await pause(300 + Math.floor(Math.random() * 100));
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBeNull(); // killed by the signal, no exit code
      kills++;
    }
  })();
  return {
    up,
    kills: () => kills,
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      return kills;
    },
  };
}

beforeAll(() => ensureBuilt(), 120_000);

describe('every event type exactly once while the sender is SIGKILLed', () => {
  let ctx: TestContext | undefined;
  let receivers: Receiver[] = [];
  const processes = new Processes();
  let raw: RawSql | undefined;
  let stopKills: (() => Promise<number>) | undefined;

  afterEach(async () => {
    await stopKills?.().catch(() => 0);
    stopKills = undefined;
    await processes.killAll();
    await raw?.close();
    raw = undefined;
    await ctx?.close();
    ctx = undefined;
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  it.skipIf(!scaleBackend)(
    'PostgreSQL, two workers, one killed every 300-400 ms: each webhook gets each occurrence once',
    async () => {
      ctx = await createTestContext(scaleBackend!, { env: HEALTH_ENV });
      const c = ctx;
      const s = await setUpWebhooks(c);
      receivers = [s.orgA, s.orgB, s.agentOnly, s.gone];
      const env = { ...HEALTH_ENV, RUNHOOK_DATABASE_URL: c.db.url, RUNHOOK_CLAIM_LEASE: `${LEASE_MS}ms` };
      const survivor = processes.start(['worker'], env);
      await survivor.waitForOutput('started', 60_000);
      const kills = killLoop(async () => {
        const victim = processes.start(['worker'], env);
        // A slow start (a loaded machine) is killed all the same.
        await victim.waitForOutput('started', 60_000).catch(() => {});
        return victim;
      });
      stopKills = kills.stop;
      await kills.up;
      raw = await openRawSql(c.db.url);

      const started = Date.now();
      await runTraffic(c, s.agentId, kills.kills);
      const killsDuringRuns = kills.kills();
      await disableAndRecover(c, s);
      await waitSettled(raw);
      const total = await kills.stop();
      // A second send could only come from a lease that ran out: wait past one, the survivor alone.
      await pause(LEASE_MS + 500);
      await waitSettled(raw);

      const seen = await checkExactlyOnce(raw, s);
      process.stdout.write(
        `[scale] event types, PostgreSQL: ${total} kills (${killsDuringRuns} while runs finished) in ` +
          `${Date.now() - started} ms; ${seen.requests} requests, ${seen.duplicates} repeats, ` +
          `${seen.lost} worker_lost attempts\n`,
      );
      expect(killsDuringRuns).toBeGreaterThanOrEqual(2);
    },
    240_000,
  );

  it('SQLite, `runhook serve` killed every 300-400 ms and started again on the same file: each webhook gets each occurrence once', async () => {
    ctx = await createTestContext(sqliteBackend, { env: HEALTH_ENV });
    const c = ctx;
    const s = await setUpWebhooks(c);
    receivers = [s.orgA, s.orgB, s.agentOnly, s.gone];
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const serve = async () => {
      const p = processes.start(['serve'], {
        ...HEALTH_ENV,
        RUNHOOK_DATABASE_URL: c.db.url,
        RUNHOOK_PORT: String(port),
        RUNHOOK_CLAIM_LEASE: `${LEASE_MS}ms`,
      });
      await eventually(
        async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true,
        60_000,
        'serve to listen',
      );
      return p;
    };
    // The runs are made by this process's API on the same file, so they go on while serve is down.
    const kills = killLoop(serve);
    stopKills = kills.stop;
    await kills.up;
    raw = await openRawSql(c.db.url);

    const started = Date.now();
    await runTraffic(c, s.agentId, kills.kills);
    const total = await kills.stop();
    // The last serve: it takes the killed one's leases as lost at its first claim.
    await serve();
    await disableAndRecover(c, s);
    await waitSettled(raw);
    await pause(LEASE_MS + 500);
    await waitSettled(raw);

    const seen = await checkExactlyOnce(raw, s);
    process.stdout.write(
      `[scale] event types, SQLite: ${total} serve kills in ${Date.now() - started} ms; ${seen.requests} ` +
        `requests, ${seen.duplicates} repeats, ${seen.lost} worker_lost attempts\n`,
    );
    expect(total).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
