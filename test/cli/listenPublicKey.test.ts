/** `runhook listen --public-key` (docs/receiving-webhooks.md#trying-it-locally): the v1a verdict. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignatures } from '../../src/cli/listen.js';
import { ed25519WebhookSignature } from '../../src/domain/signing.js';

function pair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return {
    der: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    whpk: `whpk_${raw.toString('base64')}`,
  };
}

describe('runhook listen --public-key', () => {
  const mine = pair();
  const body = '{"event":"test"}';
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(ts),
    'webhook-signature': ed25519WebhookSignature([mine.der], 'msg_1', ts, body),
  };

  it('says ok for the webhook public key and INVALID for a tampered body or another key', () => {
    expect(checkSignatures(body, headers, undefined, mine.whpk)).toEqual({ 'webhook-signature': 'ok' });
    expect(checkSignatures('{"event":"tost"}', headers, undefined, mine.whpk)['webhook-signature']).toMatch(
      /^INVALID \(No webhook-signature entry matches/,
    );
    expect(checkSignatures(body, headers, undefined, pair().whpk)['webhook-signature']).toMatch(/^INVALID/);
  });

  it('without a secret or key, reports the signature as unchecked', () => {
    expect(checkSignatures(body, headers, undefined)['webhook-signature']).toMatch(
      /^present \(no --secret or --public-key/,
    );
  });
});
