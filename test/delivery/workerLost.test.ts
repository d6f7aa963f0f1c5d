/**
 * Lost attempts are visible (docs/delivery.md#leases-and-at-least-once): a `runhook worker` is
 * SIGKILLed while its attempt is on the wire; when its lease runs out, the next worker records that
 * attempt as `worker_lost` before sending again, so the history shows both sends. Both backends.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';
import { createTestContext, eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, getDelivery } from './support.js';

beforeAll(() => ensureBuilt(), 120_000);

for (const backend of backends) {
  describe(`lost attempts [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    const children: Spawned[] = [];
    afterEach(async () => {
      for (const p of children.splice(0)) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
        await p.exited;
      }
      await ctx?.close();
      await receiver?.close();
    });

    const startWorkerProcess = () => {
      const p = runCli(['worker'], {
        ...TEST_ENV,
        RUNHOOK_DATABASE_URL: ctx.db.url,
        RUNHOOK_CLAIM_LEASE: '1s',
        RUNHOOK_ATTEMPT_TIMEOUT: '30s',
        RUNHOOK_LOG_LEVEL: 'warn',
      });
      children.push(p);
      return p;
    };

    it('a worker SIGKILLed mid-attempt: the history shows its attempt as worker_lost, then the retry', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend), startReceiver()]);
      // The first request hangs (the worker dies waiting for it); later ones are answered.
      receiver.script = [{ kind: 'hang' }, { kind: 'status', status: 200, body: '{"ok":true}' }];
      await createWebhook(ctx, { url: receiver.url });
      const run = await finishedRun(ctx, await createAgent(ctx));
      const { id } = await deliveryOfRun(ctx, run.id);

      const first = startWorkerProcess();
      await receiver.waitFor(1, 15_000);
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();

      const second = startWorkerProcess();
      await second.waitForOutput('started');
      const done = await eventually(
        async () => {
          const d = await getDelivery(ctx, id);
          return d.status === 'succeeded' && d;
        },
        20_000,
        'the delivery to succeed after the restart',
      );
      expect(receiver.requests).toHaveLength(2);
      expect(done.attempt_count).toBe(2);
      const [lost, retry] = done.attempts;
      expect(lost).toMatchObject({
        attempt_number: 1,
        trigger: 'scheduled',
        http_status: null,
        error_class: 'worker_lost',
        response: null,
      });
      // Found lost either when its lease ran out or, sooner, when its process was seen gone
      // (docs/delivery.md#leases-and-at-least-once): which comes first is timing.
      expect(lost?.error_message).toMatch(
        /^the worker \S+ stopped before recording this attempt's outcome; (its lease ran out|it is gone)$/,
      );
      // When the lost attempt started: when the dead worker claimed it, before the kill.
      expect(Date.parse(lost?.started_at as string)).toBeLessThanOrEqual(killedAt);
      expect(retry).toMatchObject({ attempt_number: 2, http_status: 200, error_class: null });
      // Both sends carried the same webhook-id.
      expect(receiver.requests[0]?.headers['webhook-id']).toBe(receiver.requests[1]?.headers['webhook-id']);
      // Nothing is known about the lost attempt's answer: the failure streak is untouched.
      const hooks = (await ctx.api('GET', '/api/v1/webhooks')).body.webhooks;
      expect(hooks[0].consecutive_failures).toBe(0);
    }, 60_000);
  });
}
