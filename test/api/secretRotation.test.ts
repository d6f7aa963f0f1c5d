import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const OLD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEW = 'a-brand-new-plain-secret';
const b64 = (plain: string) => Buffer.from(plain).toString('base64');

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
}
