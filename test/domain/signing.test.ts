import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  buildDeliveryHeaders,
  clixSignature,
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
