import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const OLD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEW = 'a-brand-new-plain-secret';
const b64 = (plain: string) => Buffer.from(plain).toString('base64');
const DAY_MS = 24 * 60 * 60 * 1000;

/** The `v1,…` entry a secret gives a request (docs/receiving-webhooks.md#checking-the-signature). */
function entryFor(secret: string, headers: Record<string, unknown>, body: string): string {
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
  return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
}

for (const backend of backends) {
  describe(`secret rotation [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    beforeEach(async () => {
      ctx = await createTestContext(backend, { worker: true });
      receiver = await startReceiver();
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    it('after a secret is replaced, deliveries carry one v1 entry per active secret; clearing it stops signing', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: receiver.url, secret: OLD });
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, { secret: NEW });
      await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'completed' });
      await receiver.waitFor(1);
      const first = receiver.requests[0]!;
      const entries = String(first.headers['webhook-signature']).split(' ');
      expect(entries).toHaveLength(2);
      const headers = first.headers as Record<string, string>;
      // Receivers on either secret accept it during the grace period.
      expect(() => new Webhook(b64(NEW)).verify(first.body, headers)).not.toThrow();
      expect(() => new Webhook(OLD).verify(first.body, headers)).not.toThrow();
      expect(() => new Webhook(b64('some-other-secret')).verify(first.body, headers)).toThrow();

      await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, { secret: null });
      await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'failed' });
      await receiver.waitFor(2);
      const second = receiver.requests[1]!;
      expect(second.headers['webhook-signature']).toBeUndefined();
      expect(second.headers['x-runhook-signature']).toBeUndefined();
      expect(second.headers['webhook-id']).toBeDefined();
    });
  });

  describe(`secret rotation grace, on an injected clock [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    // Whole seconds, so that webhook-timestamp is exactly the clock.
    const start = Math.floor(Date.now() / 1000) * 1000;
    let clock = start;
    beforeEach(async () => {
      clock = start;
      ctx = await createTestContext(backend, { worker: true, now: () => clock });
      receiver = await startReceiver();
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    it('the replaced secret signs for 24 hours after the change and not a millisecond longer', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', { url: receiver.url, secret: OLD });
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      const rotatedAt = start + 1_000;
      clock = rotatedAt;
      expect((await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, { secret: NEW })).status).toBe(200);

      const deliverAt = async (at: number, count: number) => {
        clock = at;
        const run = await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'completed' });
        expect(run.status).toBe(201);
        await receiver.waitFor(count);
        const request = receiver.requests[count - 1]!;
        expect(JSON.parse(request.body).test_run.id).toBe(run.body.id);
        expect(Number(request.headers['webhook-timestamp'])).toBe(Math.floor(at / 1000));
        return {
          entries: String(request.headers['webhook-signature']).split(' ').sort(),
          expected: (...secrets: string[]) =>
            secrets.map((s) => entryFor(s, request.headers, request.body)).sort(),
          bodyOnly: request.headers['x-runhook-signature'],
          body: request.body,
        };
      };

      // Just before the grace ends: both secrets sign webhook-signature; the body-only header uses the new one.
      const last = await deliverAt(rotatedAt + DAY_MS - 1, 1);
      expect(last.entries).toEqual(last.expected(NEW, OLD));
      const newKey = Buffer.from(NEW, 'utf8');
      expect(last.bodyOnly).toBe(`sha256=${createHmac('sha256', newKey).update(last.body).digest('hex')}`);

      // At 24 hours exactly: the old secret no longer signs.
      const after = await deliverAt(rotatedAt + DAY_MS, 2);
      expect(after.entries).toEqual(after.expected(NEW));
      expect(after.entries).not.toContain(after.expected(OLD)[0]);
    });
  });
}
