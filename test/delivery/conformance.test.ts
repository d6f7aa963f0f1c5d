/**
 * docs/payloads.md on the wire: real deliveries from the in-process worker to a real receiver, checked
 * by the npm `standardwebhooks` library and by HMACs computed here with node:crypto (not with
 * src/domain/signing.ts), against the attempt log the API shows.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from './support.js';

const WHSEC = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const PLAIN = 'a plain-string secret, 8+ chars';
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The key bytes docs/receiving-webhooks.md#checking-the-signature prescribes, derived here independently of src/. */
const keyOf = (secret: string) =>
  secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
const hmac = (algo: 'sha256' | 'sha1', secret: string, body: string) =>
  createHmac(algo, keyOf(secret)).update(Buffer.from(body, 'utf8')).digest('hex');

/** What `standardwebhooks` wants: the whsec_ string as is, a plain string as base64 of its UTF-8 bytes. */
const verifier = (secret: string) =>
  new Webhook(secret.startsWith('whsec_') ? secret : Buffer.from(secret, 'utf8').toString('base64'));

const flat = (h: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));

for (const backend of backends) {
  describe(`delivery conformance [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    beforeEach(async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    /** Fires one event to the given webhook scope and returns what arrived and what was logged. */
    async function deliverOnce(agentId: string) {
      const run = await finishedRun(ctx, agentId);
      await receiver.waitFor(1);
      const d = await deliveryOfRun(ctx, run.id);
      const detail = await settled(ctx, d.id);
      expect(detail.status).toBe('succeeded');
      expect(detail.attempts).toHaveLength(1);
      const got = receiver.requests[0]!;
      return { run, detail, got, headers: flat(got.headers), attempt: detail.attempts[0]! };
    }

    it('standard format, whsec_ secret: standardwebhooks verifies, X-Runhook-Signature matches, body is the logged body', async () => {
      const agentId = await createAgent(ctx);
      const hook = await createWebhook(ctx, {
        url: receiver.url,
        secret: WHSEC,
        headers: { 'X-Team': 'qa', Authorization: 'Bearer receiver-token' },
      });
      const { run, detail, got, headers, attempt } = await deliverOnce(agentId);

      expect(got.method).toBe('POST');
      expect(got.url).toBe('/hook');
      expect(headers['content-type']).toBe('application/json');
      expect(headers['user-agent']).toBe(`Runhook/${version}`);
      expect(headers['x-team']).toBe('qa');
      expect(headers.authorization).toBe('Bearer receiver-token');
      expect(headers['webhook-id']).toBe(detail.event_id);
      expect(Number(headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);

      // The bytes received are the bytes logged, and they are the stored event payload.
      expect(got.body).toBe(attempt.request.body);
      expect(JSON.parse(got.body)).toEqual(detail.event.payload);
      expect(JSON.parse(got.body).test_run.id).toBe(run.id);
      expect(attempt.request.url).toBe(hook.url);
      expect(attempt).toMatchObject({ trigger: 'scheduled', http_status: 200, error_class: null });
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'X-Runhook-Signature'])
        expect(attempt.request.headers[name]).toBe(headers[name.toLowerCase()]);

      const verified = verifier(WHSEC).verify(got.body, headers);
      expect(verified).toEqual(JSON.parse(got.body));
      expect(headers['webhook-signature']).toBe(
        `v1,${createHmac('sha256', keyOf(WHSEC))
          .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${got.body}`)
          .digest('base64')}`,
      );
      expect(headers['x-runhook-signature']).toBe(`sha256=${hmac('sha256', WHSEC, got.body)}`);
      expect(headers['x-clix-signature']).toBeUndefined();

      // Rejections: a changed byte, another secret, another timestamp.
      const tampered = got.body.replace('"status":"completed"', '"status":"failed"');
      expect(tampered).not.toBe(got.body);
      expect(() => verifier(WHSEC).verify(tampered, headers)).toThrow();
      expect(() =>
        verifier('whsec_b3RoZXIgc2VjcmV0IGFmdGVyIHJvdGF0aW9u').verify(got.body, headers),
      ).toThrow();
      expect(() =>
        verifier(WHSEC).verify(got.body, {
          ...headers,
          'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1),
        }),
      ).toThrow();
    });

    it('clix format, plain-string secret: X-Clix-Signature is HMAC-SHA1 of the body; standardwebhooks verifies with base64(secret)', async () => {
      const agentId = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, secret: PLAIN, agent_id: agentId, format: 'clix' });
      const { run, got, headers, attempt } = await deliverOnce(agentId);

      const body = JSON.parse(got.body);
      expect(Object.keys(body)).toEqual(['timestamp', 'test_id', 'status', 'created_at']);
      expect(body).toMatchObject({ test_id: run.id, status: 'error' }); // 3 failed scenarios
      expect(got.body).toBe(attempt.request.body);

      expect(headers['x-clix-signature']).toBe(hmac('sha1', PLAIN, got.body));
      expect(headers['x-runhook-signature']).toBe(`sha256=${hmac('sha256', PLAIN, got.body)}`);
      expect(verifier(PLAIN).verify(got.body, headers)).toEqual(body);
      expect(() => verifier(PLAIN).verify(got.body.replace('"error"', '"pass"'), headers)).toThrow();
      expect(() => verifier('another plain secret').verify(got.body, headers)).toThrow();
      expect(hmac('sha1', 'another plain secret', got.body)).not.toBe(headers['x-clix-signature']);
    });

    it('no secret: no signature headers, but webhook-id and webhook-timestamp', async () => {
      const agentId = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, format: 'clix' });
      const { headers, detail, attempt } = await deliverOnce(agentId);
      expect(headers['webhook-id']).toBe(detail.event_id);
      expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
      for (const name of ['webhook-signature', 'x-runhook-signature', 'x-clix-signature']) {
        expect(headers[name]).toBeUndefined();
      }
      expect(Object.keys(attempt.request.headers).map((h) => h.toLowerCase())).not.toContain(
        'webhook-signature',
      );
    });

    it('the secret never appears in an API answer or in the attempt log', async () => {
      const agentId = await createAgent(ctx);
      const orgHook = await createWebhook(ctx, { url: receiver.url, secret: WHSEC });
      const agentHook = await createWebhook(ctx, {
        url: receiver.url,
        secret: PLAIN,
        agent_id: agentId,
        format: 'clix',
      });
      const otherAgent = await createAgent(ctx, 'Org-level agent');
      const r1 = await finishedRun(ctx, agentId);
      const r2 = await finishedRun(ctx, otherAgent);
      await receiver.waitFor(2);
      const d1 = await settled(ctx, (await deliveryOfRun(ctx, r1.id)).id);
      const d2 = await settled(ctx, (await deliveryOfRun(ctx, r2.id)).id);
      const test = await ctx.api('POST', `/api/v1/webhooks/${orgHook.id}/test`);
      expect(test.body.success).toBe(true);

      const answers = [
        orgHook,
        agentHook,
        d1,
        d2,
        test.body,
        (await ctx.api('GET', '/api/v1/webhooks')).body,
        (await ctx.api('GET', `/api/v1/webhooks/${orgHook.id}`)).body,
        (await ctx.api('GET', `/api/v1/webhooks/${agentHook.id}`)).body,
        (await ctx.api('GET', '/api/v1/deliveries')).body,
        (await ctx.api('GET', `/api/v1/deliveries/${test.body.delivery_id}`)).body,
        (await ctx.api('GET', `/api/v1/webhooks/${orgHook.id}/deliveries`)).body,
      ];
      const text = JSON.stringify(answers);
      for (const secret of [WHSEC, PLAIN]) {
        expect(text).not.toContain(secret);
        // Nor the key material in another spelling.
        expect(text).not.toContain(keyOf(secret).toString('base64'));
        expect(text).not.toContain(keyOf(secret).toString('hex'));
      }
      expect(orgHook.has_secret).toBe(true);
      // Signatures may be logged (they are not the secret): the attempt shows what was sent.
      expect(d1.attempts[0]!.request.headers['X-Clix-Signature']).toMatch(/^[0-9a-f]{40}$/);
    });
  });
}
