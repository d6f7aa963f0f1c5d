import { createHmac, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  buildDeliveryHeaders,
  clixSignature,
  ed25519WebhookSignature,
  runhookSignature,
  signingKey,
  standardWebhookSignature,
} from '../../src/domain/signing.js';
import type { WebhookFormat } from '../../src/domain/types.js';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('signingKey', () => {
  it.each([
    ['whsec_aGVsbG8=', Buffer.from('hello')],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')],
    ['my-secret-value', Buffer.from('my-secret-value', 'utf8')],
    ['pässwörd-€', Buffer.from('pässwörd-€', 'utf8')],
    ['WHSEC_aGVsbG8=', Buffer.from('WHSEC_aGVsbG8=', 'utf8')],
  ])('%s', (secret, key) => {
    expect(signingKey(secret).equals(key)).toBe(true);
  });
});

describe('standardWebhookSignature', () => {
  it('matches the Standard Webhooks known-answer vector', () => {
    expect(standardWebhookSignature([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(
      VECTOR.signature,
    );
  });

  it('carries one v1 entry per secret, space-separated, during a rotation', () => {
    const other = 'plain-text-secret';
    const header = standardWebhookSignature([VECTOR.secret, other], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    const expectedOther = createHmac('sha256', Buffer.from(other))
      .update(`${VECTOR.id}.${VECTOR.timestamp}.${VECTOR.body}`)
      .digest('base64');
    expect(header.split(' ')).toEqual([VECTOR.signature, `v1,${expectedOther}`]);
  });
});

describe('runhookSignature and clixSignature', () => {
  const body = '{"event":"test","x":"é"}';
  it.each([
    ['whsec_aGVsbG8=', Buffer.from('hello')],
    ['plain-secret', Buffer.from('plain-secret')],
  ])('secret %s is keyed by its signing key', (secret, key) => {
    const bodyBytes = Buffer.from(body, 'utf8');
    expect(runhookSignature(secret, body)).toBe(
      `sha256=${createHmac('sha256', key).update(bodyBytes).digest('hex')}`,
    );
    expect(clixSignature(secret, body)).toBe(createHmac('sha1', key).update(bodyBytes).digest('hex'));
    expect(clixSignature(secret, body)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('matches fixed HMAC answers', () => {
    // RFC 2202 / RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expect(clixSignature('Jefe', 'what do ya want for nothing?')).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
    expect(runhookSignature('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('buildDeliveryHeaders', () => {
  const base = {
    eventId: 'evt_123',
    timestampSec: 1769769165,
    body: '{"a":1}',
    customHeaders: { Authorization: 'Bearer abc', 'X-Team': 'qa' },
    userAgent: 'Runhook/0.1.0',
  };

  it('keeps a stored header named __proto__ as a header (no prototype setter on the way)', () => {
    const customHeaders = JSON.parse('{"__proto__":"v","X-Team":"qa"}') as Record<string, string>;
    const headers = buildDeliveryHeaders({ ...base, customHeaders, format: 'standard', secret: null });
    expect(Object.keys(headers)).toContain('__proto__');
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('v');
    expect(JSON.parse(JSON.stringify(headers))['X-Team']).toBe('qa');
  });

  it.each([
    [
      'standard',
      null,
      ['Content-Type', 'User-Agent', 'Authorization', 'X-Team', 'webhook-id', 'webhook-timestamp'],
    ],
    [
      'standard',
      'whsec_aGVsbG8=',
      [
        'Content-Type',
        'User-Agent',
        'Authorization',
        'X-Team',
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
        'X-Runhook-Signature',
      ],
    ],
    [
      'slack',
      'plain-secret',
      [
        'Content-Type',
        'User-Agent',
        'Authorization',
        'X-Team',
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
        'X-Runhook-Signature',
      ],
    ],
    [
      'clix',
      null,
      ['Content-Type', 'User-Agent', 'Authorization', 'X-Team', 'webhook-id', 'webhook-timestamp'],
    ],
    [
      'clix',
      'plain-secret',
      [
        'Content-Type',
        'User-Agent',
        'Authorization',
        'X-Team',
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
        'X-Runhook-Signature',
        'X-Clix-Signature',
      ],
    ],
  ] as const)('format %s, secret %j → headers in order %j', (format, secret, names) => {
    const headers = buildDeliveryHeaders({ ...base, format, secret });
    expect(Object.keys(headers)).toEqual(names);
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['User-Agent']).toBe('Runhook/0.1.0');
    expect(headers['webhook-id']).toBe('evt_123');
    expect(headers['webhook-timestamp']).toBe('1769769165');
    expect(headers.Authorization).toBe('Bearer abc');
  });

  it('signs with the given values', () => {
    const headers = buildDeliveryHeaders({ ...base, format: 'clix', secret: 'plain-secret' });
    expect(headers['webhook-signature']).toBe(
      standardWebhookSignature(['plain-secret'], 'evt_123', 1769769165, '{"a":1}'),
    );
    expect(headers['X-Runhook-Signature']).toBe(runhookSignature('plain-secret', '{"a":1}'));
    // Independent HMAC-SHA1 of the raw body, keyed by the secret's UTF-8 bytes.
    expect(headers['X-Clix-Signature']).toBe(
      createHmac('sha1', 'plain-secret').update('{"a":1}').digest('hex'),
    );
  });

  it('never lets a custom header shadow one Runhook sets', () => {
    const headers = buildDeliveryHeaders({
      ...base,
      format: 'clix',
      secret: 'plain-secret',
      customHeaders: {
        'content-type': 'text/plain',
        'WEBHOOK-ID': 'x',
        'x-clix-signature': 'forged',
        'X-Ok': '1',
      },
    });
    const lower = Object.keys(headers).map((name) => name.toLowerCase());
    expect(new Set(lower).size).toBe(lower.length);
    expect(headers['X-Ok']).toBe('1');
    expect(headers['Content-Type']).toBe('application/json');
  });

  it('refuses a timestamp that is not whole seconds', () => {
    expect(() =>
      buildDeliveryHeaders({ ...base, format: 'standard', secret: null, timestampSec: 1769769165.5 }),
    ).toThrow(RangeError);
  });
});

describe('receivers using the standardwebhooks library accept our headers', () => {
  const body = '{"event":"test_run_completed","test_run":{"id":"r1"}}';
  const plain = 'a plain text secret';
  const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const receivers = [
    ['whsec_ secret', whsec, new Webhook(whsec)],
    ['plain-string secret', plain, new Webhook(Buffer.from(plain, 'utf8').toString('base64'))],
  ] as const;

  function headersFor(secret: string, format: WebhookFormat = 'standard', sentBody = body) {
    return buildDeliveryHeaders({
      format,
      eventId: 'msg_2abc',
      timestampSec: Math.floor(Date.now() / 1000),
      body: sentBody,
      secret,
      customHeaders: {},
      userAgent: 'Runhook/test',
    });
  }

  it.each(receivers)('%s verifies', (_label, secret, receiver) => {
    expect(receiver.verify(body, headersFor(secret))).toEqual(JSON.parse(body));
  });

  it.each(receivers)('%s: a tampered body is rejected', (_label, secret, receiver) => {
    expect(() => receiver.verify(body.replace('r1', 'r2'), headersFor(secret))).toThrow();
  });

  it.each(receivers)('%s: a wrong secret is rejected', (_label, _secret, receiver) => {
    expect(() => receiver.verify(body, headersFor('some-other-secret'))).toThrow();
  });

  it('a stale timestamp is rejected (the receiver sees our timestamp)', () => {
    const headers = buildDeliveryHeaders({
      format: 'standard',
      eventId: 'msg_2abc',
      timestampSec: Math.floor(Date.now() / 1000) - 3600,
      body,
      secret: whsec,
      customHeaders: {},
      userAgent: 'Runhook/test',
    });
    expect(() => new Webhook(whsec).verify(body, headers)).toThrow(/timestamp/i);
  });
});

describe('ed25519 (v1a) entries', () => {
  // RFC 8032 §7.1, test 1: the seed and its public key, wrapped as PKCS#8 DER the way Runhook stores keys.
  const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
  const rfcPublic = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
  const der = Buffer.from(`302e020100300506032b657004220420${seed}`, 'hex').toString('base64');
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: rfcPublic.toString('base64url') },
    format: 'jwk',
  });
  const other = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'der', type: 'pkcs8' })
    .toString('base64');
  const signed = Buffer.from(`${VECTOR.id}.${VECTOR.timestamp}.${VECTOR.body}`);
  const valid = (entry: string) =>
    verify(null, signed, publicKey, Buffer.from(entry.slice('v1a,'.length), 'base64'));
  const base = {
    eventId: VECTOR.id,
    timestampSec: VECTOR.timestamp,
    body: VECTOR.body,
    customHeaders: {},
    userAgent: 'Runhook/test',
    format: 'standard' as WebhookFormat,
  };

  it('signs "<id>.<ts>.<body>" with the key, verifiable by its RFC 8032 public key', () => {
    const entry = ed25519WebhookSignature([der], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    expect(entry).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(valid(entry)).toBe(true);
    // ed25519 is deterministic: the same input, the same entry.
    expect(ed25519WebhookSignature([der], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(entry);
  });

  it('without a secret: v1a entries only, current key first, and no body-only header', () => {
    const headers = buildDeliveryHeaders({ ...base, secret: null, signingKeys: [der, other] });
    const entries = headers['webhook-signature']!.split(' ');
    expect(entries).toHaveLength(2);
    expect(valid(entries[0]!)).toBe(true);
    expect(valid(entries[1]!)).toBe(false);
    expect(headers['X-Runhook-Signature']).toBeUndefined();
  });

  it('with a secret: v1a first, then v1, which an HMAC verifier accepts', () => {
    const headers = buildDeliveryHeaders({ ...base, secret: VECTOR.secret, signingKeys: [der] });
    const entries = headers['webhook-signature']!.split(' ');
    expect(entries[0]!.startsWith('v1a,')).toBe(true);
    expect(entries[1]).toBe(VECTOR.signature);
    expect(headers['X-Runhook-Signature']).toBe(runhookSignature(VECTOR.secret, VECTOR.body));
  });
});
