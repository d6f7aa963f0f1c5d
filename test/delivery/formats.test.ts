/**
 * Each payload format, delivered for real by the worker to a receiver on 127.0.0.1, checked against
 * the rules of the service it is meant for (docs/payloads.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { adaptiveCardValidator } from '../helpers/adaptiveCard.js';
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

    it('discord: one embed inside Discord’s limits, linked to the run, red for a failed run', async () => {
      const body = (await deliver('discord')) as {
        content: string;
        embeds: Array<{ title: string; url: string; description: string; color: number; fields: unknown[] }>;
      };
      expect(body.content.length).toBeLessThanOrEqual(2000);
      expect(body.embeds).toHaveLength(1);
      const [embed] = body.embeds;
      expect(embed!.url).toMatch(/^http:\/\/runhook\.test\/runs\/[0-9a-f-]{36}$/);
      expect(embed!.title.length).toBeLessThanOrEqual(256);
      expect(embed!.description.length).toBeLessThanOrEqual(4096);
      expect(embed!.fields.length).toBeLessThanOrEqual(10);
      expect(embed!.color).toBe(0xed4245);
      expect(embed!.description).toContain('test\\_case\\_0');
      expect(embed!.description).toContain('…and 20 more');
    });

    it('teams: a workflow message whose card validates against the Adaptive Card 1.4 schema', async () => {
      const body = (await deliver('teams')) as {
        type: string;
        attachments: Array<{ contentType: string; content: { actions: Array<{ url: string }> } }>;
      };
      expect(body.type).toBe('message');
      expect(body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
      const result = adaptiveCardValidator()(body.attachments[0]!.content);
      expect(result.ok, result.errors).toBe(true);
      expect(body.attachments[0]!.content.actions[0]!.url).toMatch(/^http:\/\/runhook\.test\/runs\//);
    });

    it('clix: a 201 is not delivered (TestCLIX retries anything but 200 OK); the retry that gets 200 is', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
      receiver.script = [
        { kind: 'status', status: 201 },
        { kind: 'status', status: 200 },
      ];
      const hook = await createWebhook(ctx, { url: receiver.url, format: 'clix' });
      const run = await finishedRun(ctx, await createAgent(ctx));
      const d = await settled(ctx, (await deliveryOfRun(ctx, run.id)).id);
      expect(d.status).toBe('succeeded');
      expect(d.attempts.map((a) => a.http_status)).toEqual([201, 200]);

      receiver.script = [];
      receiver.behaviour = { kind: 'status', status: 201 };
      const test = await ctx.api('POST', `/api/v1/webhooks/${hook.id}/test`);
      expect(test.body).toMatchObject({
        success: false,
        http_status: 201,
        message: 'Webhook returned HTTP 201',
      });
      receiver.behaviour = { kind: 'status', status: 200 };
      const ok = await ctx.api('POST', `/api/v1/webhooks/${hook.id}/test`);
      expect(ok.body).toMatchObject({ success: true, message: 'Test webhook delivered successfully' });
    });
  });
}
