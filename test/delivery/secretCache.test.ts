/**
 * A worker remembers opened secrets and HMAC keys between sends (docs/architecture.md#secrets-in-memory);
 * a secret replaced through the API signs the very next send of the same running worker, and the
 * replaced one signs beside it during its grace (docs/delivery.md). Checked at a loopback receiver
 * by recomputing every signature, on both backends.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/security/secretBox.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, finishedRun } from './support.js';

const S1 = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const S2 = 'a-plain-second-secret-for-the-cache';
const S3 = 'whsec_c2VjcmV0LW51bWJlci10aHJlZS1mb3ItdGhlLWNhY2hl';

const keyOf = (secret: string) =>
  secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');

/** The signatures a request carries must be exactly those of `current`, then `previous`. */
function expectSignedBy(req: Receiver['requests'][number], current: string, previous: string | null) {
  const signed = `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`;
  const entry = (s: string) => `v1,${createHmac('sha256', keyOf(s)).update(signed).digest('base64')}`;
  expect(req.headers['webhook-signature']).toBe(
    previous === null ? entry(current) : `${entry(current)} ${entry(previous)}`,
  );
  expect(req.headers['x-runhook-signature']).toBe(
    `sha256=${createHmac('sha256', keyOf(current)).update(req.body).digest('hex')}`,
  );
}

describe('secret box cache', () => {
  it('opens what it sealed, again and again, and a tampered seal still fails', () => {
    const box = createSecretBox('secret-box-cache-test-key-0123456789');
    const sealed = [S1, S2, S3].map((s) => box.seal(s));
    for (let round = 0; round < 3; round++) expect(sealed.map((s) => box.open(s))).toEqual([S1, S2, S3]);
    // Two seals of one secret are two ciphertexts; both open.
    expect(box.open(box.seal(S1))).toBe(S1);
    const [, body] = (sealed[0] as string).split(':');
    const bytes = Buffer.from(body as string, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    expect(() => box.open(`v1:${bytes.toString('base64')}`)).toThrow();
    // More secrets than the cache holds: all still open right.
    const many = Array.from({ length: 1_500 }, (_, i) => `secret-${i}`);
    const seals = many.map((s) => box.seal(s));
    expect(seals.map((s) => box.open(s))).toEqual(many);
    expect(seals.map((s) => box.open(s))).toEqual(many);
  });
});

for (const backend of backends) {
  describe(`a running worker signs with the current secret [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    afterEach(async () => {
      await receiver?.close();
      await ctx?.close();
    });

    it('each update and rotation takes effect on the next send', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
      const hook = await createWebhook(ctx, { url: receiver.url, secret: S1 });
      const agentId = await createAgent(ctx);
      const send = async () => {
        const n = receiver.requests.length;
        await finishedRun(ctx, agentId);
        await receiver.waitFor(n + 1, 10_000);
        return receiver.requests[n] as Receiver['requests'][number];
      };
      const setSecret = async (secret: string | null) => {
        const res = await ctx.api('PATCH', `/api/v1/webhooks/${hook.id}`, { secret });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      };

      // Twice with S1: the second send is served from the caches.
      expectSignedBy(await send(), S1, null);
      expectSignedBy(await send(), S1, null);
      await setSecret(S2);
      expectSignedBy(await send(), S2, S1);
      await setSecret(S3);
      expectSignedBy(await send(), S3, S2);
      // Back to a secret used before: a new ciphertext, the same signatures as for S1 itself.
      await setSecret(S1);
      expectSignedBy(await send(), S1, S3);
      await setSecret(null);
      const unsigned = await send();
      expect(unsigned.headers['webhook-signature']).toBeUndefined();
      expect(unsigned.headers['x-runhook-signature']).toBeUndefined();
    });
  });
}
