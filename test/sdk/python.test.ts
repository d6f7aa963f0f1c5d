import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { signRunhookSignature, signStandardWebhook } from '../../sdk/index.js';
import { ed25519WebhookSignature } from '../../src/domain/signing.js';

const SCRIPT = fileURLToPath(new URL('../../docs/python/verify_runhook.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'runhook-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Delivery {
  body: string;
  headers: Record<string, string>;
  secret: string | string[];
}

function runScript(delivery: Delivery, ...flags: string[]): { status: number | null; output: string } {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(delivery));
  const result = spawnSync('python3', [SCRIPT, file, ...flags], { encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const BODY = JSON.stringify({
  event: 'test_run_completed',
  timestamp: '2026-01-30T10:32:45Z',
  test_run: { id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', name: 'Prüfung ✓' },
});

function signedNow(body: string, secret: string, id = 'msg_1'): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000);
  return {
    'Content-Type': 'application/json',
    'Webhook-Id': id,
    'Webhook-Timestamp': String(ts),
    'Webhook-Signature': signStandardWebhook(secret, id, ts, body),
    'X-Runhook-Signature': signRunhookSignature(secret, body),
  };
}

describe('docs/python/verify_runhook.py', () => {
  it('accepts the Standard Webhooks known-answer vector with --no-tolerance, and only then', () => {
    const kat: Delivery = {
      body: '{"test": 2432232314}',
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    };
    expect(runScript(kat, '--no-tolerance')).toMatchObject({ status: 0 });
    const stale = runScript(kat);
    expect(stale.status).toBe(1);
    expect(stale.output).toMatch(/in the past/);
  });

  it.each([
    ['valid, whsec_ secret', () => ({ body: BODY, headers: signedNow(BODY, SECRET), secret: SECRET }), 0],
    [
      'valid, plain-string secret',
      () => ({ body: BODY, headers: signedNow(BODY, 'a plain secret'), secret: 'a plain secret' }),
      0,
    ],
    [
      'valid, second of two signature entries',
      () => {
        const headers = signedNow(BODY, SECRET);
        headers['Webhook-Signature'] = `v1,bm9wZQ== ${headers['Webhook-Signature']}`;
        return { body: BODY, headers, secret: SECRET };
      },
      0,
    ],
    [
      'tampered body',
      () => ({ body: BODY.replace('Prüfung', 'Prufung'), headers: signedNow(BODY, SECRET), secret: SECRET }),
      1,
    ],
    ['wrong secret', () => ({ body: BODY, headers: signedNow(BODY, 'another secret'), secret: SECRET }), 1],
    [
      'stale timestamp',
      () => {
        const ts = Math.floor(Date.now() / 1000) - 600;
        const headers = {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(SECRET, 'msg_1', ts, BODY),
        };
        return { body: BODY, headers, secret: SECRET };
      },
      1,
    ],
    [
      'missing webhook-signature',
      () => {
        const { 'Webhook-Signature': _, ...headers } = signedNow(BODY, SECRET);
        return { body: BODY, headers, secret: SECRET };
      },
      1,
    ],
  ] as const)('%s → exit %i', (_name, build, status) => {
    const result = runScript(build());
    expect(result.status, result.output).toBe(status);
    expect(result.output).toMatch(status === 0 ? /^valid: test_run_completed/ : /^invalid: /);
  });

  it('decides on webhook-signature and only reports on X-Runhook-Signature (newest secret only during a rotation)', () => {
    const headers = signedNow(BODY, SECRET);
    expect(runScript({ body: BODY, headers, secret: SECRET }).output).toMatch(/X-Runhook-Signature: matches/);
    headers['X-Runhook-Signature'] = signRunhookSignature('the newer secret', BODY);
    const rotated = runScript({ body: BODY, headers, secret: SECRET });
    expect(rotated.status).toBe(0);
    expect(rotated.output).toMatch(/X-Runhook-Signature: made with another secret/);
  });

  it('takes a list of secrets (a rotation) from the delivery file, for both signature headers', () => {
    const headers = signedNow(BODY, SECRET);
    const both = runScript({ body: BODY, headers, secret: ['whsec_b2xkZXIgc2VjcmV0IGtleQ==', SECRET] });
    expect(both.output).toMatch(/valid: test_run_completed/);
    expect(both.output).toMatch(/X-Runhook-Signature: matches/);
    expect(both.status).toBe(0);
    const neither = runScript({ body: BODY, headers, secret: ['one-wrong-secret', 'another-wrong-one'] });
    expect(neither.status).toBe(1);
    expect(neither.output).toMatch(/no webhook-signature entry matches/);
  });

  // ed25519 needs the `cryptography` package (docs/receiving-webhooks.md#ed25519-public-keys).
  const hasCryptography = spawnSync('python3', ['-c', 'import cryptography']).status === 0;
  it.skipIf(!hasCryptography)(
    'checks v1a entries with a whpk_ public key (with cryptography installed)',
    () => {
      const pair = () => {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
        return {
          der: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
          whpk: `whpk_${raw.toString('base64')}`,
        };
      };
      const mine = pair();
      const other = pair();
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': `${ed25519WebhookSignature([mine.der], 'msg_1', ts, BODY)} ${signStandardWebhook(SECRET, 'msg_1', ts, BODY)}`,
      };
      expect(runScript({ body: BODY, headers, secret: mine.whpk })).toMatchObject({ status: 0 });
      expect(runScript({ body: BODY, headers, secret: [other.whpk, SECRET] })).toMatchObject({ status: 0 });
      const wrongKey = runScript({ body: BODY, headers, secret: other.whpk });
      expect(wrongKey.status).toBe(1);
      expect(wrongKey.output).toMatch(/no webhook-signature entry matches the body and public key/);
      const tampered = runScript({ body: BODY.replace('Prüfung', 'Prufung'), headers, secret: mine.whpk });
      expect(tampered.status).toBe(1);
      const onlyHmac = { ...headers, 'webhook-signature': signStandardWebhook(SECRET, 'msg_1', ts, BODY) };
      expect(runScript({ body: BODY, headers: onlyHmac, secret: mine.whpk }).output).toMatch(/no v1a entry/);
    },
  );

  it('exits 2 on bad usage', () => {
    const result = spawnSync('python3', [SCRIPT], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/usage/);
  });
});
