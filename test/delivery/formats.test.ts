/**
 * Each payload format, delivered for real by the worker to a receiver on 127.0.0.1, checked against
 * the rules of the service it is meant for (docs/payloads.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from './support.js';

const FAILURES = Array.from({ length: 30 }, (_, i) => ({
  name: `test_case_${i}`,
  classname: 'tests.test_triage',
  file: 'tests/test_triage.py',
  message: `AssertionError: expected referral ${i}`,
  kind: i % 5 === 0 ? 'error' : 'failed',
}));

for (const backend of backends) {
  describe(`payload formats delivered [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    let receiver: Receiver;
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await receiver.close();
    });

    /** Delivers one finished run with 30 failures in `format`; returns the body the receiver got. */
    async function deliver(format: string, run: Record<string, unknown> = {}): Promise<unknown> {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
      await createWebhook(ctx, { url: receiver.url, format });
      const agent = await createAgent(ctx, 'Healthcare Assistant');
      const created = await finishedRun(ctx, agent, {
        status: 'failed',
        passed_count: 70,
        failed_count: 24,
        error_count: 6,
        failures: FAILURES,
        ...run,
      });
      const d = await settled(ctx, (await deliveryOfRun(ctx, created.id)).id);
      expect(d.status).toBe('succeeded');
      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0]!;
      expect(request.headers['content-type']).toBe('application/json');
      return JSON.parse(request.body);
    }

    it('standard: test_run.failures holds the first 20, after duration_seconds', async () => {
      const body = (await deliver('standard')) as { test_run: Record<string, unknown> };
      const keys = Object.keys(body.test_run);
      expect(keys.slice(-2)).toEqual(['duration_seconds', 'failures']);
      expect(body.test_run.failures).toEqual(FAILURES.slice(0, 20));
    });

    it('standard: no failures key when the run has none', async () => {
      const body = (await deliver('standard', { failures: [] })) as { test_run: Record<string, unknown> };
      expect(body.test_run).not.toHaveProperty('failures');
    });

    it('slack: names the first 5 failing tests and counts the rest', async () => {
      const body = (await deliver('slack')) as { text: string; blocks: Array<{ text?: { text: string } }> };
      const section = body.blocks[0]!.text!.text;
      for (const f of FAILURES.slice(0, 5)) expect(section).toContain(f.name);
      expect(section).not.toContain(FAILURES[5]!.name);
      expect(section).toContain('…and 25 more');
      expect(section.length).toBeLessThanOrEqual(3000);
    });
  });
}
