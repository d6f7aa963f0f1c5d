import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { ALLOWED_CIDRS_HINT, type Cidr, isAddressAllowed } from '../domain/ipRules.js';
import type { AttemptResponse, ErrorClass } from '../domain/types.js';

/** Response bodies are kept up to this size in the attempt log (docs/delivery.md#attempts-and-error-classes). */
export const RESPONSE_BODY_CAP = 64 * 1024;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/**
 * What the wire gave back: an answer (any status; what it means is decided in
 * domain/classifyOutcome.ts), or a transport error and its class.
 */
export type SendResult = { startedAt: number; responseTimeMs: number } & (
  | { httpStatus: number; response: AttemptResponse; errorClass: null; errorMessage: null }
  | { httpStatus: null; response: null; errorClass: ErrorClass; errorMessage: string }
);

export interface HttpSender {
  send(request: SendRequest): Promise<SendResult>;
  close(): Promise<void>;
}

class SsrfBlockedError extends Error {
  readonly code = 'ERR_RUNHOOK_SSRF_BLOCKED';
}

class AttemptTimeoutError extends Error {
  readonly code = 'ERR_RUNHOOK_TIMEOUT';
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * The only DNS lookup a connection makes: it resolves the name, keeps the addresses the SSRF
 * rules allow, and hands exactly those to the socket. No second lookup can be answered
 * differently (DNS rebinding), because the socket connects to what this returned.
 */
function safeLookup(allowed: readonly Cidr[]) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, []);
      const ok = addresses.filter((a) => isAddressAllowed(a.address, allowed));
      if (ok.length === 0) {
        const seen = addresses.map((a) => a.address).join(', ');
        return callback(
          new SsrfBlockedError(
            `${hostname} resolves to ${seen}, which is not a public address; ${ALLOWED_CIDRS_HINT}`,
          ) as NodeJS.ErrnoException,
          [],
        );
      }
      if (options.all) return callback(null, ok);
      const first = ok[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  // No prototype: a receiver's `__proto__` header is kept as a header, not taken for a setter.
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Maps a transport failure to an attempt's error class (docs/delivery.md#attempts-and-error-classes). */
export function classifyError(err: unknown): { errorClass: ErrorClass; message: string } {
  const seen = new Set<unknown>();
  let e = err as (Error & { code?: string; cause?: unknown }) | undefined;
  const codes: string[] = [];
  while (e && !seen.has(e)) {
    seen.add(e);
    if (e.code) codes.push(e.code);
    e = e.cause as typeof e;
  }
  const message = (err as Error)?.message ?? String(err);
  const has = (...list: string[]) => codes.some((c) => list.includes(c));
  if (has('ERR_RUNHOOK_SSRF_BLOCKED')) return { errorClass: 'ssrf_blocked', message };
  if (
    has(
      'ERR_RUNHOOK_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'UND_ERR_CONNECT_TIMEOUT',
      'ETIMEDOUT',
    )
  )
    return { errorClass: 'timeout', message: message || 'timed out' };
  if (has('ECONNREFUSED')) return { errorClass: 'connection_refused', message };
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME'))
    return { errorClass: 'dns', message };
  if (
    codes.some(
      (c) => c.startsWith('ERR_TLS') || c.startsWith('ERR_SSL') || c.includes('CERT') || c === 'EPROTO',
    )
  )
    return { errorClass: 'tls', message };
  return { errorClass: 'connection_reset', message };
}

/**
 * Sends attempts over keep-alive connections, refusing non-public destinations (unless inside
 * `allowedCidrs`) and never following redirects.
 */
export function createHttpSender(options: {
  allowedCidrs: readonly Cidr[];
  connectionsPerOrigin?: number;
}): HttpSender {
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    keepAliveTimeout: 4_000,
    connect: { lookup: safeLookup(options.allowedCidrs) as never },
  });

  async function send(req: SendRequest): Promise<SendResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const elapsed = () => Math.round(performance.now() - t0);
    const fail = (err: unknown): SendResult => {
      const { errorClass, message } = classifyError(err);
      return {
        startedAt,
        responseTimeMs: elapsed(),
        httpStatus: null,
        errorClass,
        errorMessage: message,
        response: null,
      };
    };
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (err) {
      return fail(err);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && !isAddressAllowed(host, options.allowedCidrs)) {
      return fail(new SsrfBlockedError(`${host} is not a public address; ${ALLOWED_CIDRS_HINT}`));
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new AttemptTimeoutError(`no complete answer within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    try {
      const res = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > RESPONSE_BODY_CAP) {
          chunks.push(buf.subarray(0, RESPONSE_BODY_CAP - size));
          size = RESPONSE_BODY_CAP;
          truncated = true;
          res.body.destroy();
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
      return {
        startedAt,
        responseTimeMs: elapsed(),
        httpStatus: res.statusCode,
        errorClass: null,
        errorMessage: null,
        response: {
          headers: flattenHeaders(res.headers),
          body: Buffer.concat(chunks).toString('utf8'),
          truncated,
        },
      };
    } catch (err) {
      if (controller.signal.aborted) return fail(controller.signal.reason);
      return fail(err);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    send,
    close: async () => {
      await agent.close().catch(() => agent.destroy());
    },
  };
}
