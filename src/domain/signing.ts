/**
 * Request signing (docs/receiving-webhooks.md#checking-the-signature): Standard Webhooks `webhook-signature`, `X-Runhook-Signature`
 * and TestCLIX's `X-Clix-Signature`, plus the full header set of a delivery attempt.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { WebhookFormat } from './types.js';

const WHSEC_PREFIX = 'whsec_';

/**
 * The HMAC key of a secret: `whsec_<base64>` is its decoded bytes (Standard Webhooks); any
 * other string is its UTF-8 bytes. Secrets are validated at save time (checkSecret), so the
 * lenient Node base64 decoder is not a risk here.
 */
export function signingKey(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) return Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

/** How many secrets' HMAC keys are kept ready (see hmacKey). */
const KEY_CACHE_SIZE = 1_000;
const keys = new Map<string, KeyObject>();

/**
 * The HMAC key of a secret as a key object, decoded once and kept (bounded, least recently used
 * out): every attempt signs with the same few secrets. Keyed by the secret itself, held in memory
 * only, like the opened secrets it comes from (docs/architecture.md#secrets-in-memory).
 */
function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key !== undefined) {
    keys.delete(secret);
  } else {
    key = createSecretKey(signingKey(secret));
    if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value as string);
  }
  keys.set(secret, key);
  return key;
}

/**
 * `webhook-signature` value: one `v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>` per secret,
 * space-separated (several secrets during a rotation).
 */
export function standardWebhookSignature(
  secrets: readonly string[],
  msgId: string,
  timestampSec: number,
  body: string,
): string {
  const signed = `${msgId}.${timestampSec}.${body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', hmacKey(secret)).update(signed, 'utf8').digest('base64')}`)
    .join(' ');
}

/** `X-Runhook-Signature` value: `sha256=<hex HMAC-SHA256(key, body)>`. */
export function runhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', hmacKey(secret)).update(body, 'utf8').digest('hex')}`;
}

/** `X-Clix-Signature` value: hex HMAC-SHA1(key, body), as TestCLIX sends it. */
export function clixSignature(secret: string, body: string): string {
  return createHmac('sha1', hmacKey(secret)).update(body, 'utf8').digest('hex');
}

/**
 * Header names Runhook sets itself. A custom header with one of these names is refused at save
 * time (validateWebhook.checkHeaders); buildDeliveryHeaders also drops them, so a row that
 * slipped past validation cannot override a signature or send a name twice in other casing.
 */
function isOwnHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === 'content-type' ||
    lower === 'user-agent' ||
    lower.startsWith('webhook-') ||
    lower.startsWith('x-runhook-') ||
    lower.startsWith('x-clix-')
  );
}

export interface DeliveryHeadersInput {
  format: WebhookFormat;
  /** The event id: `webhook-id`, the same on every retry and redelivery. */
  eventId: string;
  /** Unix seconds of this attempt (an integer). */
  timestampSec: number;
  /** The exact body that will be sent. */
  body: string;
  secret: string | null;
  /** Secrets being rotated out: they sign `webhook-signature` too, after the current one. */
  previousSecrets?: readonly string[];
  customHeaders: Record<string, string>;
  /** `Runhook/<version>`. */
  userAgent: string;
}

/** Every header of one attempt, in a stable order (what the attempt log shows). */
export function buildDeliveryHeaders(input: DeliveryHeadersInput): Record<string, string> {
  if (!Number.isSafeInteger(input.timestampSec)) {
    throw new RangeError(`webhook timestamp must be whole Unix seconds, got ${input.timestampSec}`);
  }
  // No prototype: a stored name such as `__proto__` is an ordinary key here, not a setter.
  const headers: Record<string, string> = Object.create(null);
  headers['Content-Type'] = 'application/json';
  headers['User-Agent'] = input.userAgent;
  for (const [name, value] of Object.entries(input.customHeaders)) {
    if (!isOwnHeaderName(name)) headers[name] = value;
  }
  headers['webhook-id'] = input.eventId;
  headers['webhook-timestamp'] = String(input.timestampSec);
  if (input.secret !== null) {
    headers['webhook-signature'] = standardWebhookSignature(
      [input.secret, ...(input.previousSecrets ?? [])],
      input.eventId,
      input.timestampSec,
      input.body,
    );
    headers['X-Runhook-Signature'] = runhookSignature(input.secret, input.body);
    if (input.format === 'clix') headers['X-Clix-Signature'] = clixSignature(input.secret, input.body);
  }
  return headers;
}
