import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/cli/workerProcess.js';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { buildApp } from '../../src/http/app.js';
import { createMetrics, metricsPlugin } from '../../src/http/metrics.js';
import { backends, sqliteBackend } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type ServedApp, serveApp } from './serveApp.js';

const TOKEN = 'metrics-token-0123456789';

/** Prometheus text format → `name{a="1",b="2"}` (labels sorted) → value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    samples.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return samples;
}

function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
  return samples.get(key) ?? 0;
}

/** The series docs/monitoring.md lists, read from one scrape. */
function series(samples: Map<string, number>) {
  const attempts = (status_class: string, error_class: string) =>
    sample(samples, 'runhook_attempts_total', { status_class, error_class });
  return {
    events: sample(samples, 'runhook_events_created_total'),
    succeeded: sample(samples, 'runhook_deliveries_total', { outcome: 'succeeded' }),
    failed: sample(samples, 'runhook_deliveries_total', { outcome: 'failed' }),
    retrying: sample(samples, 'runhook_deliveries_total', { outcome: 'retrying' }),
    attempts2xx: attempts('2xx', 'none'),
    attempts5xx: attempts('5xx', 'http_status'),
    attemptsAll: [...samples]
      .filter(([k]) => k.startsWith('runhook_attempts_total{'))
      .reduce((sum, [, v]) => sum + v, 0),
    durationCount: sample(samples, 'runhook_attempt_duration_seconds_count'),
    pending: sample(samples, 'runhook_deliveries_pending'),
    lag: sample(samples, 'runhook_queue_lag_seconds'),
  };
}

const delta = (after: ReturnType<typeof series>, before: ReturnType<typeof series>) =>
  Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
  ) as ReturnType<typeof series>;

for (const backend of backends) {
  describe(`/metrics [${backend.name}]`, () => {
    let ctx: TestContext;
    let served: ServedApp;
    let receiver: Receiver;
    let worker: Worker | null;

    beforeEach(async () => {
      ctx = await createTestContext(backend, { env: { RUNHOOK_METRICS_TOKEN: TOKEN } });
      served = await serveApp(ctx);
      receiver = await startReceiver();
      worker = null;
    });
    afterEach(async () => {
      await worker?.stop(2_000);
      await served.app.close();
      await receiver.close();
      await ctx.close();
    });

    const scrape = async () => {
      const res = await served.call('GET', '/metrics', undefined, TOKEN);
      expect(res.status).toBe(200);
      return series(parseMetrics(res.text));
    };

    it('counters move by exactly what happened: events, attempts, deliveries, latency, pending, lag', async () => {
      const agent = await served.call('POST', '/api/v1/agents', { name: 'Healthcare Assistant' });
      expect(
        (
          await served.call('POST', '/api/v1/webhooks', {
            url: receiver.url,
            secret: 'whsec_c2VjcmV0LXNlY3JldA==',
          })
        ).status,
      ).toBe(201);
      const s0 = await scrape();
      expect(s0.pending).toBe(0);
      expect(s0.lag).toBe(0);

      // A finished run with no worker running: one event, one pending delivery, the queue lags.
      const run = await served.call('POST', '/api/v1/runs', {
        agent_id: agent.body.id,
        name: 'Nightly',
        status: 'completed',
        passed_count: 17,
        failed_count: 3,
      });
      expect(run.status).toBe(201);
      await new Promise((r) => setTimeout(r, 120));
      const s1 = await scrape();
      expect(delta(s1, s0)).toEqual({
        events: 1,
        succeeded: 0,
        failed: 0,
        retrying: 0,
        attempts2xx: 0,
        attempts5xx: 0,
        attemptsAll: 0,
        durationCount: 0,
        pending: 1,
        lag: s1.lag,
      });
      expect(s1.lag).toBeGreaterThanOrEqual(0.1);
      expect(s1.lag).toBeLessThan(10);

      // The worker (wired as `runhook serve` wires it) delivers: 1 attempt 2xx, 1 succeeded.
      worker = startWorker(ctx.rt, { leaseAhead: true });
      const s2 = await eventually(async () => {
        const s = await scrape();
        return s.succeeded > s1.succeeded ? s : undefined;
      });
      expect(receiver.requests).toHaveLength(1);
      expect(delta(s2, s1)).toEqual({
        events: 0,
        succeeded: 1,
        failed: 0,
        retrying: 0,
        attempts2xx: 1,
        attempts5xx: 0,
        attemptsAll: 1,
        durationCount: 1,
        pending: -1,
        lag: -s1.lag,
      });

      // Running → complete, with one 500 first: an attempt 5xx and a retry, then success.
      // (The receiver answers its Nth request with script[N]: the first one was the run above.)
      receiver.script = [
        { kind: 'status', status: 200 },
        { kind: 'status', status: 500, body: 'boom' },
        { kind: 'status', status: 200 },
      ];
      const started = await served.call('POST', '/api/v1/runs', { agent_id: agent.body.id });
      const done = await served.call('POST', `/api/v1/runs/${started.body.id}/complete`, {
        status: 'failed',
        passed_count: 1,
        failed_count: 1,
      });
      expect(done.status).toBe(200);
      // Finishing it again is refused, and creates nothing.
      expect((await served.call('POST', `/api/v1/runs/${started.body.id}/cancel`)).status).toBe(409);
      const s3 = await eventually(async () => {
        const s = await scrape();
        return s.succeeded > s2.succeeded ? s : undefined;
      });
      expect(receiver.requests).toHaveLength(3);
      expect(delta(s3, s2)).toEqual({
        events: 1,
        succeeded: 1,
        failed: 0,
        retrying: 1,
        attempts2xx: 1,
        attempts5xx: 1,
        attemptsAll: 2,
        durationCount: 2,
        pending: 0,
        lag: 0,
      });
    });

    it('replayed Idempotency-Key answers are not counted as events', async () => {
      const agent = await served.call('POST', '/api/v1/agents', { name: 'Keyed agent' });
      const running = await served.call('POST', '/api/v1/runs', { agent_id: agent.body.id });
      const s0 = await scrape();
      const keyed = async (path: string, body: unknown, key: string) => {
        const res = await served.app.inject({
          method: 'POST',
          url: path,
          headers: {
            authorization: `Bearer ${ctx.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          payload: JSON.stringify(body),
        });
        expect(res.statusCode).toBeLessThan(300);
        return res.headers['idempotent-replayed'] === 'true';
      };
      const finished = { agent_id: agent.body.id, status: 'completed', passed_count: 1 };
      const replays: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        replays.push(await keyed('/api/v1/runs', finished, 'finished-once'));
        replays.push(
          await keyed(`/api/v1/runs/${running.body.id}/complete`, { status: 'completed' }, 'complete-once'),
        );
      }
      expect(replays).toEqual([false, false, true, true, true, true]);
      const s1 = await scrape();
      expect(s1.events - s0.events).toBe(2);
    });

    it('a delivery that runs out of retries counts as failed, and a receiver that is down as status_class none', async () => {
      receiver.behaviour = { kind: 'reset' };
      const agent = await served.call('POST', '/api/v1/agents', { name: 'A' });
      await served.call('POST', '/api/v1/webhooks', { url: receiver.url });
      const s0 = await scrape();
      await served.call('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'canceled' });
      worker = startWorker(ctx.rt, { leaseAhead: true });
      const s1 = await eventually(async () => {
        const s = await scrape();
        return s.failed > s0.failed ? s : undefined;
      });
      const samples = parseMetrics((await served.call('GET', '/metrics', undefined, TOKEN)).text);
      // 1 try + 3 retries (TEST_ENV schedule: 50ms,50ms,50ms), none answered.
      expect(
        sample(samples, 'runhook_attempts_total', { status_class: 'none', error_class: 'connection_reset' }),
      ).toBe(4);
      expect(delta(s1, s0)).toMatchObject({
        events: 1,
        failed: 1,
        retrying: 3,
        succeeded: 0,
        attemptsAll: 4,
      });
    });

    it('needs the token when RUNHOOK_METRICS_TOKEN is set, and answers 401 in the API error shape', async () => {
      for (const key of [null, 'wrong-token', ctx.apiKey, `${TOKEN}x`]) {
        const res = await served.call('GET', '/metrics', undefined, key);
        expect(res.status, String(key)).toBe(401);
        expect(res.body).toEqual({ error: expect.any(String), code: 'UNAUTHORIZED' });
        expect(res.text).not.toContain('runhook_');
      }
      const ok = await served.call('GET', '/metrics', undefined, TOKEN);
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      // Node.js process metrics come along.
      expect(ok.text).toContain('process_cpu_user_seconds_total');
      expect(ok.text).toContain('nodejs_eventloop_lag_seconds');
      expect(ok.text).toContain('# TYPE runhook_attempt_duration_seconds histogram');
    });
  });
}

describe('/metrics without RUNHOOK_METRICS_TOKEN', () => {
  it('is open, in a registry of its own', async () => {
    const ctx = await createTestContext(sqliteBackend);
    const metrics = createMetrics({ store: ctx.rt.store, processMetrics: false });
    const app = await buildApp({
      store: ctx.rt.store,
      config: ctx.config,
      secretBox: ctx.rt.secretBox,
      send: ctx.rt.send,
      plugins: [metricsPlugin(metrics, { token: null })],
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('runhook_deliveries_pending 0');
      expect(res.body).not.toContain('process_cpu');
      const { register } = await import('prom-client');
      expect(await register.getMetricsAsJSON()).toEqual([]);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
