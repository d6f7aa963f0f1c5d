import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
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
  /** Lets requests in flight end for up to a second, then cuts them off (they end as errors). */
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
function safeLookup(allowed: readonly Cidr[], onBlocked: (hostname: string, addresses: string[]) => void) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, []);
      const ok = addresses.filter((a) => isAddressAllowed(a.address, allowed));
      if (ok.length === 0) {
        // The addresses are the server's internal DNS: the server log gets them, the attempt
        // (which the tenant reads) only the host name.
        onBlocked(
          hostname,
          addresses.map((a) => a.address),
        );
        return callback(
          new SsrfBlockedError(
            `${hostname} is not a public address; ${ALLOWED_CIDRS_HINT}`,
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

/** What a URL is sent to: parsed once per distinct URL (see createHttpSender). */
type Destination = { origin: string; path: string } | { blocked: string } | { invalid: unknown };

/** How long close() lets requests still in flight end before it cuts them off. */
const CLOSE_GRACE_MS = 1_000;

/** How many parsed URLs a sender keeps; past this it starts over (a bound, not an eviction policy). */
const DESTINATIONS_KEPT = 1_000;

/**
 * Sends attempts over keep-alive connections, refusing non-public destinations (unless inside
 * `allowedCidrs`) and never following redirects.
 */
export function createHttpSender(options: {
  allowedCidrs: readonly Cidr[];
  connectionsPerOrigin?: number;
  /** Told what a refused host name resolved to, for the server log (never the attempt's message). */
  onBlocked?: (hostname: string, addresses: string[]) => void;
}): HttpSender {
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    keepAliveTimeout: 4_000,
    connect: { lookup: safeLookup(options.allowedCidrs, options.onBlocked ?? (() => {})) as never },
  });
  // A webhook's URL is the same for each of its deliveries: parsed, and a literal address
  // checked, once (the rules are fixed for the sender's life).
  const destinations = new Map<string, Destination>();
  const destinationOf = (raw: string): Destination => {
    let d = destinations.get(raw);
    if (d) return d;
    try {
      const url = new URL(raw);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      d =
        isIP(host) !== 0 && !isAddressAllowed(host, options.allowedCidrs)
          ? { blocked: `${host} is not a public address; ${ALLOWED_CIDRS_HINT}` }
          : { origin: url.origin, path: `${url.pathname}${url.search}` };
    } catch (err) {
      d = { invalid: err };
    }
    if (destinations.size >= DESTINATIONS_KEPT) destinations.clear();
    destinations.set(raw, d);
    return d;
  };

  /** Requests sent and not yet settled (each settles once: see Answer). */
  let inFlight = 0;

  function send(req: SendRequest): Promise<SendResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const d = destinationOf(req.url);
    if ('invalid' in d) return Promise.resolve(failed(startedAt, t0, d.invalid));
    if ('blocked' in d) return Promise.resolve(failed(startedAt, t0, new SsrfBlockedError(d.blocked)));
    inFlight++;
    return new Promise<SendResult>((settle) => {
      const resolve = (result: SendResult) => {
        inFlight--;
        settle(result);
      };
      const answer = new Answer(startedAt, t0, resolve, req.timeoutMs);
      try {
        agent.dispatch(
          {
            origin: d.origin,
            path: d.path,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            headersTimeout: req.timeoutMs,
            bodyTimeout: req.timeoutMs,
          },
          answer,
        );
      } catch (err) {
        // undici reports bad options and a closed agent to the handler; anything thrown is an attempt's error too.
        answer.fail(err);
      }
    });
  }

  return {
    send,
    close: async () => {
      // Closed after the worker has stopped and the API has answered its last request: what is
      // still in flight belongs to an attempt the worker gave up at its deadline (recorded as lost
      // and sent again), so it gets a moment to end, not its whole timeout. Destroyed, not closed:
      // undici's destroy() after close() leaves a request in flight waiting for its own timeout.
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await agent.destroy().catch(() => {});
    },
  };
}

function failed(startedAt: number, t0: number, err: unknown): SendResult {
  const { errorClass, message } = classifyError(err);
  return {
    startedAt,
    responseTimeMs: Math.round(performance.now() - t0),
    httpStatus: null,
    errorClass,
    errorMessage: message,
    response: null,
  };
}

/**
 * One request's answer, read straight from undici's dispatch (no response stream, abort signal or
 * async iterator per request: about a sixth less CPU per delivery, commit bc84dd9). Settles once: with the answer (its body
 * kept up to RESPONSE_BODY_CAP), or with the error, or with a timeout when no complete answer came
 * within `timeoutMs` (the request is then aborted, as soon as it has started).
 */
class Answer implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private readonly timer: NodeJS.Timeout;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly startedAt: number,
    private readonly t0: number,
    private readonly resolve: (result: SendResult) => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => {
      const err = new AttemptTimeoutError(`no complete answer within ${timeoutMs} ms`);
      this.fail(err);
      this.controller?.abort(err);
    }, timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out while waiting for a connection: never sent.
    if (this.settled) controller.abort(new AttemptTimeoutError('timed out before it was sent'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx informational answers come first and are not the answer.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = flattenHeaders(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.size + chunk.length > RESPONSE_BODY_CAP) {
      this.chunks.push(chunk.subarray(0, RESPONSE_BODY_CAP - this.size));
      this.size = RESPONSE_BODY_CAP;
      this.done(true);
      // The rest is not read: the connection is closed instead.
      controller.abort(new Error('response body over the attempt log cap; not read further'));
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    this.done(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private done(truncated: boolean): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const body =
      this.chunks.length === 1
        ? (this.chunks[0] as Buffer).toString('utf8')
        : Buffer.concat(this.chunks).toString('utf8');
    this.resolve({
      startedAt: this.startedAt,
      responseTimeMs: Math.round(performance.now() - this.t0),
      httpStatus: this.status,
      errorClass: null,
      errorMessage: null,
      response: { headers: this.headers ?? Object.create(null), body, truncated },
    });
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(failed(this.startedAt, this.t0, err));
  }
}
