import { createHmac, timingSafeEqual } from 'node:crypto';
import { signingKey } from './signingKey.js';

type HeaderValue = string | string[] | null | undefined;

/**
 * Computes the `X-Runhook-Signature` value: `sha256=<hex HMAC-SHA256(key, body)>`.
 *
 * @example
 * const headers = { 'x-runhook-signature': signRunhookSignature(secret, body) };
 */
export function signRunhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', signingKey(secret)).update(body).digest('hex')}`;
}

/**
 * Checks `X-Runhook-Signature: sha256=<hex>` against the raw body, in constant time.
 * This signature does not cover a timestamp, so it does not stop replays; prefer
 * {@link verifyWebhook} when you can.
 *
 * @example
 * if (!verifyRunhookSignature(rawBody, req.headers['x-runhook-signature'], secret)) {
 *   return res.sendStatus(401);
 * }
 */
export function verifyRunhookSignature(
  rawBody: string | Buffer,
  headerValue: HeaderValue,
  secret: string | string[],
): boolean {
  const value = single(headerValue);
  const match = value === null ? null : /^sha256=([0-9a-fA-F]{64})$/.exec(value);
  if (!match) return false;
  return anySecretMatches(match[1]!.toLowerCase(), secret, (s) => signRunhookSignature(s, rawBody).slice(7));
}

/**
 * Computes the `X-Clix-Signature` value (TestCLIX-compatible): `<hex HMAC-SHA1(key, body)>`.
 *
 * @example
 * const headers = { 'x-clix-signature': signClixSignature(secret, body) };
 */
export function signClixSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha1', signingKey(secret)).update(body).digest('hex');
}

/**
 * Checks `X-Clix-Signature: <hex>` (sent by webhooks in `clix` format) against the raw body,
 * in constant time.
 *
 * @example
 * if (!verifyClixSignature(rawBody, req.headers['x-clix-signature'], secret)) {
 *   return res.sendStatus(401);
 * }
 */
export function verifyClixSignature(
  rawBody: string | Buffer,
  headerValue: HeaderValue,
  secret: string | string[],
): boolean {
  const value = single(headerValue);
  if (value === null || !/^[0-9a-fA-F]{40}$/.test(value)) return false;
  return anySecretMatches(value.toLowerCase(), secret, (s) => signClixSignature(s, rawBody));
}

function single(value: HeaderValue): string | null {
  if (Array.isArray(value)) return value.length === 1 ? value[0]!.trim() : null;
  return typeof value === 'string' ? value.trim() : null;
}

function anySecretMatches(
  offeredHex: string,
  secret: string | string[],
  expectedHex: (secret: string) => string,
): boolean {
  const offered = Buffer.from(offeredHex, 'latin1');
  let matched = false;
  for (const candidate of Array.isArray(secret) ? secret : [secret]) {
    const expected = Buffer.from(expectedHex(candidate), 'latin1');
    if (expected.length === offered.length && timingSafeEqual(expected, offered)) matched = true;
  }
  return matched;
}
