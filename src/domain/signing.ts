/**
 * Request signing (docs/receiving-webhooks.md#checking-the-signature): Standard Webhooks `webhook-signature`, `X-Runhook-Signature`
 * and TestCLIX's `X-Clix-Signature`, plus the full header set of a delivery attempt.
 */
import { createHmac, createPrivateKey, createSecretKey, type KeyObject, sign } from 'node:crypto';
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

/** How many ed25519 private keys are kept parsed (see ed25519Key). */
const ED25519_CACHE_SIZE = 1_000;
const ed25519Keys = new Map<string, KeyObject>();

/**
 * The private key object of a PKCS#8 DER key (base64), parsed once and kept like the HMAC keys
 * above (bounded, least recently used out, in memory only).
 */
function ed25519Key(pkcs8Base64: string): KeyObject {
  let key = ed25519Keys.get(pkcs8Base64);
  if (key !== undefined) {
    ed25519Keys.delete(pkcs8Base64);
  } else {
    key = createPrivateKey({ key: Buffer.from(pkcs8Base64, 'base64'), format: 'der', type: 'pkcs8' });
    if (ed25519Keys.size >= ED25519_CACHE_SIZE) ed25519Keys.delete(ed25519Keys.keys().next().value as string);
  }
  ed25519Keys.set(pkcs8Base64, key);
  return key;
}

/**
 * Standard Webhooks' asymmetric entries: one `v1a,<base64 ed25519 signature of "<id>.<ts>.<body>">`
 * per private key (PKCS#8 DER, base64), space-separated (two during a key rotation).
 */
export function ed25519WebhookSignature(
  privateKeys: readonly string[],
  msgId: string,
  timestampSec: number,
  body: string,
): string {
  const signed = Buffer.from(`${msgId}.${timestampSec}.${body}`, 'utf8');
  return privateKeys.map((k) => `v1a,${sign(null, signed, ed25519Key(k)).toString('base64')}`).join(' ');
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
  /**
   * An `ed25519` webhook's private keys (PKCS#8 DER, base64), current first, then the one being
   * rotated out: each adds a `v1a` entry to `webhook-signature`, before any `v1` entry.
   */
  signingKeys?: readonly string[];
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
  // An ed25519 webhook with a secret carries both kinds of entry: a Standard Webhooks verifier
  // checks the entries of its own version and skips the others (docs/delivery.md#ed25519-signatures).
  const entries: string[] = [];
  const signingKeys = input.signingKeys ?? [];
  if (signingKeys.length > 0) {
    entries.push(ed25519WebhookSignature(signingKeys, input.eventId, input.timestampSec, input.body));
  }
  if (input.secret !== null) {
    entries.push(
      standardWebhookSignature(
        [input.secret, ...(input.previousSecrets ?? [])],
        input.eventId,
        input.timestampSec,
        input.body,
      ),
    );
  }
  if (entries.length > 0) headers['webhook-signature'] = entries.join(' ');
  if (input.secret !== null) {
    headers['X-Runhook-Signature'] = runhookSignature(input.secret, input.body);
    if (input.format === 'clix') headers['X-Clix-Signature'] = clixSignature(input.secret, input.body);
  }
  return headers;
}
