/**
 * Deliveries of an `ed25519` webhook (docs/delivery.md#ed25519-signatures) reach a real receiver
 * with Standard Webhooks `v1a` entries that verify with the webhook's public key, by node:crypto
 * alone and by the SDK; a rotation adds the old key's entry; Test Webhook signs the same way.
 */
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../../sdk/index.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type ReceivedRequest, type Receiver, startReceiver } from '../helpers/receiver.js';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

/** Verifies one `v1a` entry with nothing but node:crypto, as a receiver without the SDK would. */
function verifiesWithNodeCrypto(
  publicKey: string,
  request: ReceivedRequest,
  entry: string,
  body = request.body,
) {
  const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  const signed = `${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${body}`;
  return verify(null, Buffer.from(signed), key, Buffer.from(entry.slice('v1a,'.length), 'base64'));
}

const entriesOf = (request: ReceivedRequest) => String(request.headers['webhook-signature']).split(' ');

for (const backend of backends) {
  describe(`ed25519 signatures on deliveries [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    beforeEach(async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    async function deliverRun(count: number) {
      const agent = await ctx.api('POST', '/api/v1/agents', { name: `A${count}` });
      await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'completed' });
      await receiver.waitFor(count);
      return receiver.requests[count - 1]!;
    }

    it('signs with one v1a entry that node:crypto and the SDK verify; a tampered body, timestamp or key fails', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        signature_scheme: 'ed25519',
      });
      const other = await ctx.api('POST', '/api/v1/webhooks', {
        url: `${receiver.url}other`,
        signature_scheme: 'ed25519',
        agent_id: (await ctx.api('POST', '/api/v1/agents', { name: 'elsewhere' })).body.id,
      });
      const publicKey: string = hook.body.public_key;
      const request = await deliverRun(1);
      const entries = entriesOf(request);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
      // No secret: nothing HMAC-signed.
      expect(request.headers['x-runhook-signature']).toBeUndefined();

      expect(verifiesWithNodeCrypto(publicKey, request, entries[0]!)).toBe(true);
      expect(
        verifiesWithNodeCrypto(publicKey, request, entries[0]!, request.body.replace('completed', 'failed')),
      ).toBe(false);
      expect(verifiesWithNodeCrypto(other.body.public_key, request, entries[0]!)).toBe(false);

      const headers = request.headers as Record<string, string>;
      const event = verifyWebhook(request.body, headers, publicKey);
      expect(event.event).toBe('test_run_completed');
      expect(() => verifyWebhook(request.body.replace('completed', 'failed'), headers, publicKey)).toThrow(
        /No webhook-signature entry matches the body and public key/,
      );
      const ts = Number(headers['webhook-timestamp']);
      expect(() =>
        verifyWebhook(request.body, { ...headers, 'webhook-timestamp': String(ts + 1) }, publicKey),
      ).toThrow(WebhookVerificationError);
      expect(() => verifyWebhook(request.body, headers, other.body.public_key)).toThrow(
        WebhookVerificationError,
      );
      // A receiver that still holds only an HMAC secret is told why it cannot verify.
      expect(() => verifyWebhook(request.body, headers, SECRET)).toThrow(/no v1 entry/);
    });

    it('with a secret too: v1a and v1 entries, so HMAC verifiers (standardwebhooks) keep working', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        secret: SECRET,
        signature_scheme: 'ed25519',
      });
      const request = await deliverRun(1);
      const entries = entriesOf(request);
      expect(entries.map((e) => e.split(',')[0])).toEqual(['v1a', 'v1']);
      const headers = request.headers as Record<string, string>;
      expect(() => new Webhook(SECRET).verify(request.body, headers)).not.toThrow();
      expect(verifyWebhook(request.body, headers, SECRET).event).toBe('test_run_completed');
      expect(verifyWebhook(request.body, headers, hook.body.public_key).event).toBe('test_run_completed');
      expect(request.headers['x-runhook-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    });

    it('after rotate-key both pairs sign (two v1a entries); switching to hmac-sha256 stops v1a', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        signature_scheme: 'ed25519',
      });
      const oldKey: string = hook.body.public_key;
      const rotated = await ctx.api('POST', `/api/v1/webhooks/${hook.body.id}/rotate-key`);
      const newKey: string = rotated.body.public_key;
      const request = await deliverRun(1);
      const entries = entriesOf(request);
      expect(entries).toHaveLength(2);
      // The new key signs first, then the one being rotated out.
      expect(verifiesWithNodeCrypto(newKey, request, entries[0]!)).toBe(true);
      expect(verifiesWithNodeCrypto(oldKey, request, entries[1]!)).toBe(true);
      const headers = request.headers as Record<string, string>;
      expect(verifyWebhook(request.body, headers, oldKey).event).toBe('test_run_completed');
      expect(verifyWebhook(request.body, headers, newKey).event).toBe('test_run_completed');

      await ctx.api('PATCH', `/api/v1/webhooks/${hook.body.id}`, {
        signature_scheme: 'hmac-sha256',
        secret: SECRET,
      });
      const after = await deliverRun(2);
      expect(entriesOf(after).map((e) => e.split(',')[0])).toEqual(['v1']);
      expect(() => verifyWebhook(after.body, after.headers as Record<string, string>, newKey)).toThrow(
        /no v1a entry/,
      );
    });

    it('Test Webhook is signed with v1a too, and its attempt log never shows the private key', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        signature_scheme: 'ed25519',
      });
      const sent = await ctx.api('POST', `/api/v1/webhooks/${hook.body.id}/test`);
      expect(sent.body.success).toBe(true);
      const request = receiver.requests[0]!;
      const event = verifyWebhook<{ event: string }>(
        request.body,
        request.headers as Record<string, string>,
        hook.body.public_key,
      );
      expect(event.event).toBe('test');
      const detail = await ctx.api('GET', `/api/v1/deliveries/${sent.body.delivery_id}`);
      const logged = JSON.stringify(detail.body);
      expect(logged).toContain(String(request.headers['webhook-signature']));
      expect(logged).not.toMatch(/MC4CAQAw|BEGIN PRIVATE KEY/);
    });
  });

  describe(`ed25519 key rotation grace, on an injected clock [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    const DAY_MS = 24 * 60 * 60 * 1000;
    // Whole seconds, so that webhook-timestamp is exactly the clock.
    const start = Math.floor(Date.now() / 1000) * 1000;
    let clock = start;
    beforeEach(async () => {
      clock = start;
      [ctx, receiver] = await Promise.all([
        createTestContext(backend, { worker: true, now: () => clock }),
        startReceiver(),
      ]);
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    it('the replaced key signs for 24 hours after rotate-key and not a millisecond longer', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        signature_scheme: 'ed25519',
      });
      const agent = await ctx.api('POST', '/api/v1/agents', { name: 'A' });
      const rotatedAt = start + 1_000;
      clock = rotatedAt;
      const rotated = await ctx.api('POST', `/api/v1/webhooks/${hook.body.id}/rotate-key`);
      const deliverAt = async (at: number, count: number) => {
        clock = at;
        await ctx.api('POST', '/api/v1/runs', { agent_id: agent.body.id, status: 'completed' });
        await receiver.waitFor(count);
        const request = receiver.requests[count - 1]!;
        expect(Number(request.headers['webhook-timestamp'])).toBe(Math.floor(at / 1000));
        return request;
      };
      const last = await deliverAt(rotatedAt + DAY_MS - 1, 1);
      const lastEntries = entriesOf(last);
      expect(lastEntries).toHaveLength(2);
      expect(verifiesWithNodeCrypto(hook.body.public_key, last, lastEntries[1]!)).toBe(true);

      const after = await deliverAt(rotatedAt + DAY_MS, 2);
      const afterEntries = entriesOf(after);
      expect(afterEntries).toHaveLength(1);
      expect(verifiesWithNodeCrypto(rotated.body.public_key, after, afterEntries[0]!)).toBe(true);
      expect(() =>
        verifyWebhook(after.body, after.headers as Record<string, string>, hook.body.public_key, {
          now: () => clock,
        }),
      ).toThrow(/matches the body and public key/);
    });
  });
}
