/**
 * The sweeper as an operator runs it: `runhook serve` with a short RUNHOOK_RETENTION deletes a
 * delivered run's history on its own and counts it on /metrics. Real processes, both backends.
 * (A bad value stopping startup, exit 78 naming the variable: test/config.test.ts for the values,
 * test/cli/startupErrors.test.ts for the process.)
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';
import { eventually } from '../helpers/context.js';
import { startReceiver } from '../helpers/receiver.js';

const KEY = /sk_live_[A-Za-z0-9]{40}/;

for (const backend of backends) {
  describe(`retention in a running server (${backend.name})`, () => {
    const children: Spawned[] = [];
    beforeAll(() => ensureBuilt(), 120_000);
    afterEach(() => {
      for (const c of children.splice(0)) c.child.kill('SIGKILL');
    });

    it('a delivered run loses its delivery history after the retention; /metrics counts the rows', async () => {
      const db = await backend.create();
      const receiver = await startReceiver();
      try {
        const serve = runCli(['serve'], {
          RUNHOOK_DATABASE_URL: db.url,
          RUNHOOK_SECRET_KEY: 'retention-serve-test-secret-0123456789abcdef',
          RUNHOOK_PORT: '0',
          RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
          RUNHOOK_LOG_LEVEL: 'warn',
          RUNHOOK_RETENTION: '2s',
        });
        children.push(serve);
        const out = await serve.waitForOutput(KEY, 20_000);
        const key = KEY.exec(out)?.[0] as string;
        const origin = `http://127.0.0.1:${/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]}`;
        const call = async (method: string, path: string, body?: unknown) => {
          const res = await fetch(`${origin}/api/v1${path}`, {
            method,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return (await res.json()) as any;
        };
        await call('POST', '/webhooks', { url: receiver.url });
        const agent = await call('POST', '/agents', { name: 'kept' });
        const run = await call('POST', '/runs', { agent_id: agent.id, status: 'completed', passed_count: 1 });
        await receiver.waitFor(1);
        expect((await call('GET', `/deliveries?test_run_id=${run.id}`)).total).toBe(1);

        // Retention 2s: sweeps every 500ms; the delivery goes once it is 2s old.
        const expired = await eventually(
          async () => {
            const r = await call('GET', `/runs/${run.id}`);
            return r.deliveries_expired_at !== null && r;
          },
          15_000,
          'the run to say its delivery history expired',
        );
        expect(expired.status).toBe('completed');
        expect((await call('GET', `/deliveries?test_run_id=${run.id}`)).total).toBe(0);
        // The counters move when the sweep ends (after the events and the SQLite page release).
        const metrics = await eventually(
          async () => {
            const text = await (await fetch(`${origin}/metrics`)).text();
            return /runhook_retention_deleted_rows_total\{table="events"\} 1\b/.test(text) && text;
          },
          10_000,
          'the sweep to be counted on /metrics',
        );
        expect(metrics).toMatch(/runhook_retention_deleted_rows_total\{table="deliveries"\} 1\b/);
        expect(metrics).toMatch(/runhook_retention_deleted_rows_total\{table="attempts"\} 1\b/);
        expect(metrics).toMatch(/runhook_retention_last_sweep_timestamp_seconds [1-9]/);
        expect(metrics).toMatch(/runhook_store_size_bytes [1-9]/);
        expect(metrics).toMatch(/runhook_backlog_age_seconds 0\b/);
      } finally {
        await receiver.close();
        for (const c of children.splice(0)) {
          c.child.kill('SIGTERM');
          await c.exited;
        }
        await db.drop();
      }
    }, 60_000);
  });
}
