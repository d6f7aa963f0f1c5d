/**
 * `runhook webhooks recover` (docs/receiving-webhooks.md, "When your endpoint fails"): the real CLI
 * process against the same database as a running API and worker, on every backend.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { createTestContext, eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

beforeAll(() => ensureBuilt());

for (const backend of backends) {
  describe(`runhook webhooks recover [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let receiver: Receiver | undefined;
    afterEach(async () => {
      await ctx?.close();
      await receiver?.close();
    });

    it('counts with --dry-run, resends with the original webhook-id, refuses bad input and unknown webhooks', async () => {
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, env: { RUNHOOK_RETRY_SCHEDULE: '10ms' } }),
        startReceiver(),
      ]);
      const c = ctx;
      const r = receiver;
      r.behaviour = { kind: 'status', status: 503 };
      const hook = await createWebhook(c, { url: r.url });
      const agent = await createAgent(c);
      const since = new Date(Date.now() - 1000).toISOString();
      const failed = [];
      for (let i = 0; i < 2; i++)
        failed.push(await settled(c, (await deliveryOfRun(c, (await finishedRun(c, agent)).id)).id));
      const env = { ...TEST_ENV, RUNHOOK_DATABASE_URL: c.db.url, RUNHOOK_LOG_LEVEL: 'silent' };
      const run = async (args: string[]) => {
        const p = runCli(['webhooks', 'recover', ...args], env);
        return { code: await p.exited, out: p.output() };
      };

      // None of these four changes anything: one process each, at once.
      const [dry, bad, backwards, unknown] = await Promise.all([
        run([hook.id, '--since', since, '--dry-run']),
        run([hook.id, '--since', 'last tuesday']),
        run([hook.id, '--since', since, '--until', '2020-01-01T00:00:00Z']),
        run(['00000000-0000-0000-0000-000000000001', '--since', since]),
      ]);
      expect(dry.code, dry.out).toBe(0);
      expect(JSON.parse(dry.out.trim())).toEqual({ webhook_id: hook.id, count: 2, dry_run: true });
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('--since');
      expect(backwards.code).toBe(1);
      expect(backwards.out).toContain('--until');
      expect(unknown.code).toBe(1);
      expect(unknown.out).toContain('no webhook');
      expect((await c.api('GET', `/api/v1/deliveries/${failed[0]!.id}`)).body.status).toBe('failed');

      r.behaviour = { kind: 'status', status: 200 };
      const sentBefore = r.requests.length;
      const done = await run([hook.id, '--since', since]);
      expect(done.code, done.out).toBe(0);
      expect(JSON.parse(done.out.trim())).toEqual({ webhook_id: hook.id, count: 2, dry_run: false });
      for (const d of failed) {
        await eventually(
          async () => (await c.api('GET', `/api/v1/deliveries/${d.id}`)).body.status === 'succeeded',
        );
      }
      const ids = r.requests.slice(sentBefore).map((q) => q.headers['webhook-id']);
      expect(ids.sort()).toEqual(failed.map((d) => d.event_id).sort());
    });
  });
}
