import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  signClixSignature,
  signRunhookSignature,
  signStandardWebhook,
  verifyClixSignature,
  verifyRunhookSignature,
  verifyWebhook,
  WebhookVerificationError,
} from '../../sdk/index.js';

// The known-answer vector published with the Standard Webhooks specification.
const KAT = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks known-answer vector', () => {
  const headers = {
    'webhook-id': KAT.id,
    'webhook-timestamp': String(KAT.timestamp),
    'webhook-signature': KAT.signature,
  };

  it('signs to the published signature', () => {
    expect(signStandardWebhook(KAT.secret, KAT.id, KAT.timestamp, KAT.body)).toBe(KAT.signature);
    expect(signStandardWebhook(KAT.secret, KAT.id, KAT.timestamp, Buffer.from(KAT.body))).toBe(KAT.signature);
  });

  it('verifies with the clock pinned to the timestamp and returns the parsed body', () => {
    const now = () => KAT.timestamp * 1000;
    expect(verifyWebhook(KAT.body, headers, KAT.secret, { now })).toEqual({ test: 2432232314 });
  });

  it('rejects it with the real clock (it is from 2021)', () => {
    expect(() => verifyWebhook(KAT.body, headers, KAT.secret)).toThrow(/in the past/);
  });
});

type Headers3 = Record<string, string>;
interface Case {
  name: string;
  accept: boolean;
  /** Builds the request; `secret` is the receiver's secret, `sign` signs with any secret. */
  build: (now: number) => { body: string; headers: Headers3 };
  secret?: string;
}

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const PLAIN_SECRET = 'correct horse battery staple';
const BODY = JSON.stringify({ event: 'test_run_completed', test_run: { id: 'r1' } });

function signed(id: string, ts: number, body: string, secret = SECRET): Headers3 {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(secret, id, ts, body),
  };
}

const cases: Case[] = [
  { name: 'valid', accept: true, build: (now) => ({ body: BODY, headers: signed('msg_1', now, BODY) }) },
  {
    name: 'several entries, one valid',
    accept: true,
    build: (now) => {
      const good = signed('msg_1', now, BODY);
      const other = signStandardWebhook('whsec_b2xkIHNlY3JldCBvbGQgc2VjcmV0', 'msg_1', now, BODY);
      return {
        body: BODY,
        headers: { ...good, 'webhook-signature': `${other} v1a,AAAA ${good['webhook-signature']}` },
      };
    },
  },
  {
    name: 'upper-case header names',
    accept: true,
    build: (now) => {
      const h = signed('msg_1', now, BODY);
      return {
        body: BODY,
        headers: {
          'Webhook-Id': h['webhook-id']!,
          'WEBHOOK-TIMESTAMP': h['webhook-timestamp']!,
          'Webhook-Signature': h['webhook-signature']!,
        },
      };
    },
  },
  {
    name: 'timestamp 200 s old, inside the window',
    accept: true,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now - 200, BODY) }),
  },
  {
    name: 'tampered body',
    accept: false,
    build: (now) => ({ body: BODY.replace('r1', 'r2'), headers: signed('msg_1', now, BODY) }),
  },
  {
    name: 'tampered id',
    accept: false,
    build: (now) => ({ body: BODY, headers: { ...signed('msg_1', now, BODY), 'webhook-id': 'msg_2' } }),
  },
  {
    name: 'wrong secret',
    accept: false,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now, BODY, 'whsec_d3Jvbmcgc2VjcmV0IGhlcmU=') }),
  },
  {
    name: 'stale timestamp (10 minutes old)',
    accept: false,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now - 600, BODY) }),
  },
  {
    name: 'future timestamp (10 minutes ahead)',
    accept: false,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now + 600, BODY) }),
  },
  {
    name: 'missing webhook-signature',
    accept: false,
    build: (now) => {
      const { 'webhook-signature': _, ...rest } = signed('msg_1', now, BODY);
      return { body: BODY, headers: rest };
    },
  },
  {
    name: 'missing webhook-id',
    accept: false,
    build: (now) => {
      const { 'webhook-id': _, ...rest } = signed('msg_1', now, BODY);
      return { body: BODY, headers: rest };
    },
  },
  {
    name: 'missing webhook-timestamp',
    accept: false,
    build: (now) => {
      const { 'webhook-timestamp': _, ...rest } = signed('msg_1', now, BODY);
      return { body: BODY, headers: rest };
    },
  },
  {
    name: 'malformed signature (not base64)',
    accept: false,
    build: (now) => ({
      body: BODY,
      headers: { ...signed('msg_1', now, BODY), 'webhook-signature': 'v1,@@@' },
    }),
  },
  {
    name: 'malformed signature (no version)',
    accept: false,
    build: (now) => {
      const h = signed('msg_1', now, BODY);
      return { body: BODY, headers: { ...h, 'webhook-signature': h['webhook-signature']!.slice(3) } };
    },
  },
  {
    name: 'right MAC under a non-v1 version',
    accept: false,
    build: (now) => {
      const h = signed('msg_1', now, BODY);
      return {
        body: BODY,
        headers: { ...h, 'webhook-signature': h['webhook-signature']!.replace('v1,', 'v2,') },
      };
    },
  },
  {
    name: 'non-numeric timestamp',
    accept: false,
    build: (now) => ({ body: BODY, headers: { ...signed('msg_1', now, BODY), 'webhook-timestamp': 'soon' } }),
  },
  {
    name: 'plain-string secret',
    accept: true,
    secret: PLAIN_SECRET,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now, BODY, PLAIN_SECRET) }),
  },
  {
    name: 'plain-string secret, signed as if it were base64',
    accept: false,
    secret: PLAIN_SECRET,
    build: (now) => ({ body: BODY, headers: signed('msg_1', now, BODY, SECRET) }),
  },
];

/** The official library takes base64 key material; a plain secret's key is its UTF-8 bytes. */
function officialVerifier(secret: string): Webhook {
  return new Webhook(secret.startsWith('whsec_') ? secret : Buffer.from(secret, 'utf8').toString('base64'));
}

function accepts(verify: () => unknown): boolean {
  try {
    verify();
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'WebhookVerificationError') return false;
    throw error;
  }
}

describe('the SDK and the official standardwebhooks library agree', () => {
  it.each(cases)('$name', ({ build, accept, secret = SECRET }) => {
    const now = Math.floor(Date.now() / 1000);
    const { body, headers } = build(now);
    const sdk = accepts(() => verifyWebhook(body, headers, secret));
    const official = accepts(() => officialVerifier(secret).verify(body, headers));
    expect({ sdk, official }).toEqual({ sdk: accept, official: accept });
  });
});

describe('verifyWebhook', () => {
  const now = 1_700_000_000;
  const clock = () => now * 1000;

  it('accepts a Fetch Headers object, a Buffer body and Node-style array values', () => {
    const h = signed('msg_1', now, BODY);
    expect(verifyWebhook(Buffer.from(BODY), new Headers(h), SECRET, { now: clock })).toEqual(
      JSON.parse(BODY),
    );
    const arrays = { ...h, 'webhook-signature': ['v1,bm9wZQ==', h['webhook-signature']!] };
    expect(verifyWebhook(BODY, arrays, SECRET, { now: clock })).toEqual(JSON.parse(BODY));
  });

  it('accepts signatures joined by ", " (repeated headers merged by a proxy)', () => {
    const h = signed('msg_1', now, BODY);
    const merged = new Headers(h);
    merged.append('webhook-signature', 'v1,bm9wZQ==');
    expect(merged.get('webhook-signature')).toContain(', ');
    expect(verifyWebhook(BODY, merged, SECRET, { now: clock })).toEqual(JSON.parse(BODY));
  });

  it('accepts any one of several receiver secrets (rotation)', () => {
    const h = signed('msg_1', now, BODY, PLAIN_SECRET);
    expect(verifyWebhook(BODY, h, [SECRET, PLAIN_SECRET], { now: clock })).toEqual(JSON.parse(BODY));
    expect(() => verifyWebhook(BODY, h, [SECRET], { now: clock })).toThrow(WebhookVerificationError);
  });

  it('signs the exact bytes: a body with non-ASCII text verifies from string and Buffer alike', () => {
    const body = JSON.stringify({ name: 'Prüfung ✓ 検査' });
    const h = signed('msg_1', now, body);
    expect(verifyWebhook(body, h, SECRET, { now: clock })).toEqual(JSON.parse(body));
    expect(verifyWebhook(Buffer.from(body), h, SECRET, { now: clock })).toEqual(JSON.parse(body));
  });

  it.each([
    ['a tolerance of 0 accepts only this second', 0, 0, true],
    ['a tolerance of 0 rejects a second late', 0, 1, false],
    ['a custom tolerance of 3600 accepts 30 minutes', 3600, 1800, true],
    ['Infinity turns the window off', Number.POSITIVE_INFINITY, 10 * 365 * 86400, true],
  ])('%s', (_name, toleranceSeconds, ageSeconds, ok) => {
    const h = signed('msg_1', now - ageSeconds, BODY);
    expect(accepts(() => verifyWebhook(BODY, h, SECRET, { now: clock, toleranceSeconds }))).toBe(ok);
  });

  it.each([
    [
      'missing header',
      { 'webhook-id': 'x', 'webhook-timestamp': String(now) },
      /Missing webhook-signature header/,
    ],
    ['leading zeros', { ...signed('m', now, BODY), 'webhook-timestamp': `0${now}` }, /whole seconds/],
    ['trailing junk', { ...signed('m', now, BODY), 'webhook-timestamp': `${now}abc` }, /whole seconds/],
    ['milliseconds', { ...signed('m', now, BODY), 'webhook-timestamp': `${now}000` }, /in the future/],
    ['only other versions', { ...signed('m', now, BODY), 'webhook-signature': 'v1a,AAAA' }, /no v1 entry/],
    ['bad MAC', { ...signed('m', now, BODY), 'webhook-signature': 'v1,AAAA' }, /No webhook-signature entry/],
  ])('says why it refuses: %s', (_name, headers, message) => {
    expect(() => verifyWebhook(BODY, headers, SECRET, { now: clock })).toThrow(message);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
  ])('refuses %s headers with its own error, not a TypeError', (_name, headers) => {
    expect(() => verifyWebhook(BODY, headers as never, SECRET, { now: clock })).toThrow(
      WebhookVerificationError,
    );
    expect(() => verifyWebhook(BODY, headers as never, SECRET, { now: clock })).toThrow(
      /Missing webhook-id header \(no headers were given\)/,
    );
  });

  it('refuses a correctly signed body that is not JSON', () => {
    const h = signed('msg_1', now, 'not json');
    expect(() => verifyWebhook('not json', h, SECRET, { now: clock })).toThrow(/not valid JSON/);
  });

  it('uses a whsec_ string that is not valid base64 as plain UTF-8', () => {
    const odd = 'whsec_not base64!';
    const h = signed('msg_1', now, BODY, odd);
    expect(verifyWebhook(BODY, h, odd, { now: clock })).toEqual(JSON.parse(BODY));
    const official = new Webhook(Buffer.from(odd, 'utf8').toString('base64'));
    expect(accepts(() => official.verify(BODY, { ...h, 'webhook-timestamp': String(now) }))).toBe(false);
  });
});

describe('X-Runhook-Signature and X-Clix-Signature', () => {
  // RFC 2104 examples as published widely (key "key", the quick brown fox).
  const fox = 'The quick brown fox jumps over the lazy dog';
  const sha256 = 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8';
  const sha1 = 'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9';

  it('match known HMAC values for a plain-string secret', () => {
    expect(signRunhookSignature('key', fox)).toBe(`sha256=${sha256}`);
    expect(signClixSignature('key', fox)).toBe(sha1);
  });

  it.each([
    ['valid', `sha256=${sha256}`, fox, true],
    ['upper-case hex', `sha256=${sha256.toUpperCase()}`, fox, true],
    ['node array of one', [`sha256=${sha256}`], fox, true],
    ['tampered body', `sha256=${sha256}`, `${fox}.`, false],
    ['missing prefix', sha256, fox, false],
    ['wrong algorithm prefix', `sha1=${sha256}`, fox, false],
    ['truncated', `sha256=${sha256.slice(0, 63)}`, fox, false],
    ['missing header', undefined, fox, false],
  ])('verifyRunhookSignature: %s', (_name, header, body, ok) => {
    expect(verifyRunhookSignature(body, header, 'key')).toBe(ok);
  });

  it.each([
    ['valid', sha1, fox, true],
    ['Buffer body', sha1, Buffer.from(fox), true],
    ['tampered body', sha1, `${fox}.`, false],
    ['with a sha256= prefix', `sha256=${sha1}`, fox, false],
    ['truncated', sha1.slice(0, 39), fox, false],
    ['empty', '', fox, false],
  ])('verifyClixSignature: %s', (_name, header, body, ok) => {
    expect(verifyClixSignature(body, header, 'key')).toBe(ok);
  });

  it('decode a whsec_ secret to its bytes and accept a list of secrets', () => {
    const secret = 'whsec_a2V5'; // base64 of "key"
    expect(signRunhookSignature(secret, fox)).toBe(`sha256=${sha256}`);
    expect(verifyClixSignature(fox, sha1, ['other-secret', secret])).toBe(true);
  });
});

describe('v1a entries, verified with a whpk_ public key', () => {
  const pair = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    return { privateKey, whpk: `whpk_${raw.toString('base64')}` };
  };
  const mine = pair();
  const other = pair();
  const v1a = (key: KeyObject, id: string, ts: number, body: string) =>
    `v1a,${sign(null, Buffer.from(`${id}.${ts}.${body}`), key).toString('base64')}`;
  const at = 1_800_000_000;
  const now = () => at * 1000;
  const headers = (signature: string, ts = at) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(ts),
    'webhook-signature': signature,
  });

  it.each<[string, Record<string, string>, string | string[], RegExp | null]>([
    ['its own signature', headers(v1a(mine.privateKey, 'msg_1', at, BODY)), mine.whpk, null],
    [
      'one of two entries during a rotation',
      headers(`${v1a(other.privateKey, 'msg_1', at, BODY)} ${v1a(mine.privateKey, 'msg_1', at, BODY)}`),
      mine.whpk,
      null,
    ],
    [
      'a v1 entry beside it, checked with the secret',
      headers(
        `${v1a(other.privateKey, 'msg_1', at, BODY)} ${signStandardWebhook(SECRET, 'msg_1', at, BODY)}`,
      ),
      [mine.whpk, SECRET],
      null,
    ],
    [
      'another key',
      headers(v1a(other.privateKey, 'msg_1', at, BODY)),
      mine.whpk,
      /matches the body and public key/,
    ],
    [
      'a tampered body',
      headers(v1a(mine.privateKey, 'msg_1', at, BODY.replace('r1', 'r2'))),
      mine.whpk,
      /matches the body and public key/,
    ],
    [
      'a changed timestamp',
      headers(v1a(mine.privateKey, 'msg_1', at, BODY), at + 1),
      mine.whpk,
      /matches the body and public key/,
    ],
    ['a signature of the wrong length', headers('v1a,AAAA'), mine.whpk, /matches the body and public key/],
    ['only a v1 entry', headers(signStandardWebhook(SECRET, 'msg_1', at, BODY)), mine.whpk, /no v1a entry/],
  ])('%s', (_name, given, key, error) => {
    if (error === null) expect(verifyWebhook(BODY, given, key, { now })).toEqual(JSON.parse(BODY));
    else expect(() => verifyWebhook(BODY, given, key, { now })).toThrow(error);
  });

  it('refuses a malformed public key as a usage error, not as a forged delivery', () => {
    const given = headers(v1a(mine.privateKey, 'msg_1', at, BODY));
    expect(() => verifyWebhook(BODY, given, 'whpk_not-a-key', { now })).toThrow(TypeError);
    expect(() => verifyWebhook(BODY, given, `whpk_${Buffer.alloc(31).toString('base64')}`, { now })).toThrow(
      /32 bytes/,
    );
  });
});
