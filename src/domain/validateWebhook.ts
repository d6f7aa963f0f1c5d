/**
 * Validation of a webhook's user-supplied fields (docs/api.md#conventions, docs/payloads.md#headers). Each check returns the first
 * problem found, naming the field, or null / ok; the HTTP layer turns a problem into a 400.
 */
import {
  ALLOWED_CIDRS_HINT,
  type Cidr,
  forbiddenAddressReason,
  isInCidrList,
  parseAddress,
} from './ipRules.js';
import {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
  type WebhookFormat,
} from './types.js';

export type FieldProblem = { field: string; message: string };

export const LIMITS = {
  name: 200,
  description: 2000,
  url: 2048,
  headerName: 256,
  headerValue: 4096,
  headers: 10,
  secretMin: 8,
  secretMax: 256,
} as const;

/** Length in characters (code points), as a user counts them and as Postgres does. */
function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

export type UrlCheck =
  | { ok: true; hostname: string; literalAddress: string | null }
  | { ok: false; problem: FieldProblem };

function urlProblem(message: string): UrlCheck {
  return { ok: false, problem: { field: 'url', message } };
}

function isLocalhostName(hostname: string): boolean {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Checks a webhook URL before it is saved. A host that is a name is accepted here with
 * `literalAddress: null`: the caller resolves it (and the sender checks again at each send).
 */
export function checkWebhookUrl(url: string, allowed: readonly Cidr[]): UrlCheck {
  if (url.length > LIMITS.url) return urlProblem(`url must be at most ${LIMITS.url} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return urlProblem('url must be an absolute http or https URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return urlProblem(`url must use http or https, not ${parsed.protocol.slice(0, -1)}`);
  }
  // Credentials in a URL end up in logs and in the delivery history; use a custom header.
  if (parsed.username !== '' || parsed.password !== '') {
    return urlProblem('url must not contain a user name or password; send credentials in a custom header');
  }
  // WHATWG URL has already lowercased the host and normalised IPv4 forms such as
  // `2130706433` and `0x7f.1` to dotted decimal.
  const host = parsed.hostname;
  if (host === '') return urlProblem('url must have a host');
  // WHATWG URL accepts port 0, which no connection can reach.
  if (parsed.port === '0') return urlProblem('url port must be between 1 and 65535');
  const hostname = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const address = parseAddress(hostname);
  if (address !== null) {
    if (!isInCidrList(hostname, allowed)) {
      const reason = forbiddenAddressReason(hostname);
      if (reason !== null) {
        return urlProblem(
          `url must not point to a private, loopback or link-local address (${hostname} is ${reason}); ${ALLOWED_CIDRS_HINT}`,
        );
      }
    }
    return { ok: true, hostname, literalAddress: hostname };
  }
  if (isLocalhostName(hostname) && !isInCidrList('127.0.0.1', allowed)) {
    return urlProblem(
      `url must not point to a private, loopback or link-local address (${hostname} is loopback); ${ALLOWED_CIDRS_HINT}`,
    );
  }
  return { ok: true, hostname, literalAddress: null };
}

// RFC 7230 token: the characters a header name may contain.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What undici (and RFC 7230 field-value) accepts: HTAB, visible ASCII, space, obs-text.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const EXACT_RESERVED = new Set([
  // Set by Runhook itself for every delivery (docs/payloads.md#headers).
  'content-type',
  'content-length',
  'host',
  'user-agent',
  // Hop-by-hop and framing headers describe the connection, not the message. Letting a user set
  // them would break or smuggle requests (undici refuses most of them outright), so a saved
  // webhook could never deliver, or could confuse a proxy in between.
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);
// Runhook's own signature headers, and Proxy-* which is meant for (and could leak credentials
// to) an intermediary, not the receiver.
const RESERVED_PREFIXES = ['webhook-', 'x-runhook-', 'x-clix-', 'proxy-'];

// Names that mean something to a JavaScript object rather than to HTTP: `__proto__` as a key of a
// header object silently vanishes (it sets the prototype), so such a header would be saved but
// never sent. Refused rather than half-supported.
const OBJECT_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isReservedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return EXACT_RESERVED.has(lower) || RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Checks a webhook's custom headers: a plain object of at most 10 string → string entries. */
export function checkHeaders(headers: unknown): FieldProblem | null {
  if (!isPlainObject(headers)) {
    return { field: 'headers', message: 'headers must be an object of header names to string values' };
  }
  const entries = Object.entries(headers);
  if (entries.length > LIMITS.headers) {
    return { field: 'headers', message: `headers may have at most ${LIMITS.headers} entries` };
  }
  const seen = new Map<string, string>();
  for (const [name, value] of entries) {
    const field = `headers.${name}`;
    if (name.length === 0 || name.length > LIMITS.headerName) {
      return { field, message: `header names must be 1 to ${LIMITS.headerName} characters` };
    }
    if (!TOKEN.test(name)) {
      return { field, message: "header name may only contain letters, digits and !#$%&'*+-.^_`|~" };
    }
    if (OBJECT_KEYS.has(name.toLowerCase())) {
      return { field, message: `${name} cannot be used as a header name` };
    }
    if (isReservedHeaderName(name)) {
      return {
        field,
        message: `header ${name} is set by Runhook or controls the connection; it cannot be set`,
      };
    }
    const previous = seen.get(name.toLowerCase());
    if (previous !== undefined) {
      return { field, message: `header ${name} is given twice (also as ${previous}); names ignore case` };
    }
    seen.set(name.toLowerCase(), name);
    if (typeof value !== 'string') {
      return { field, message: 'header values must be strings' };
    }
    if (value.length > LIMITS.headerValue) {
      return { field, message: `header values must be at most ${LIMITS.headerValue} characters` };
    }
    if (/[\r\n\0]/.test(value)) {
      return { field, message: 'header values must not contain CR, LF or NUL characters' };
    }
    if (!HEADER_VALUE.test(value)) {
      return { field, message: 'header value contains control characters or characters beyond Latin-1' };
    }
  }
  return null;
}

// Strict, padded base64 (what Standard Webhooks libraries decode).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks a signing secret: 8–256 characters; `whsec_` must be followed by valid base64; `whpk_`
 * is refused, since verifiers (the SDK) read it as an ed25519 public key (docs/delivery.md#ed25519-signatures).
 */
export function checkSecret(secret: string): FieldProblem | null {
  const length = charLength(secret);
  if (length < LIMITS.secretMin || length > LIMITS.secretMax) {
    return {
      field: 'secret',
      message: `secret must be ${LIMITS.secretMin} to ${LIMITS.secretMax} characters`,
    };
  }
  if (secret.startsWith('whpk_')) {
    return {
      field: 'secret',
      message:
        'a secret cannot start with whpk_, the prefix of public keys; ' +
        'for ed25519 signatures set signature_scheme to ed25519 and Runhook makes the key pair',
    };
  }
  if (secret.startsWith('whsec_')) {
    const encoded = secret.slice('whsec_'.length);
    if (encoded === '' || !BASE64.test(encoded)) {
      return {
        field: 'secret',
        message:
          'a secret starting with whsec_ must continue with base64 (Standard Webhooks); ' +
          'use a secret without that prefix to sign with its text as is',
      };
    }
  }
  return null;
}

/** The event types a `clix` body can carry: TestCLIX's four fields describe a finished run and nothing else. */
export const CLIX_EVENT_TYPES: readonly WebhookEventType[] = ['test_run_completed'];

/**
 * Checks a webhook’s `events` against its format (docs/delivery.md#event-types): at least one known type,
 * and only types the format can carry.
 */
export function checkEvents(events: readonly string[], format: WebhookFormat): FieldProblem | null {
  if (events.length === 0) return { field: 'events', message: 'events must name at least one event type' };
  const unknown = events.find((e) => !isWebhookEventType(e));
  if (unknown !== undefined) {
    return {
      field: 'events',
      message: `unknown event type ${JSON.stringify(unknown)}; one of ${WEBHOOK_EVENT_TYPES.join(', ')}`,
    };
  }
  if (format === 'clix') {
    const uncarried = events.find((e) => !(CLIX_EVENT_TYPES as readonly string[]).includes(e));
    if (uncarried !== undefined) {
      return {
        field: 'events',
        message: `format clix cannot carry ${uncarried} (TestCLIX's body describes a finished run); use another format or subscribe to ${CLIX_EVENT_TYPES.join(', ')} only`,
      };
    }
  }
  return null;
}
