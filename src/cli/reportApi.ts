/**
 * The HTTP client `runhook report` talks to the Runhook REST API (docs/api.md) with: bearer key,
 * JSON, one error message per refusal, and tries again after a failure that passes.
 */
import { request } from 'undici';

/** A failure `runhook report` explains and exits with; `exitCode` 2 is a usage error. */
export class ReportError extends Error {
  override name = 'ReportError';
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Waits before the second and third try of a request that got no answer or a 429/502/503/504:
 * safe for POST /runs because its Idempotency-Key makes a repeat answer the first run.
 */
export const RETRY_DELAYS_MS = [1_000, 3_000];
const RETRY_AFTER_MAX_MS = 30_000;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export class ApiError extends ReportError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    /** The answer's `Retry-After`, in ms, when it had one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** No answer at all: refused, reset, timed out. */
class Unreachable extends ReportError {}

export interface ApiAnswer {
  json: unknown;
  /** The server's `Idempotent-Replayed: true`: this answer is the one kept from a first request. */
  replayed: boolean;
}

export class RunhookApi {
  readonly baseUrl: string;

  constructor(
    apiUrl: string,
    private readonly apiKey: string,
    private readonly retryDelaysMs: number[],
  ) {
    this.baseUrl = stripSlashes(apiUrl).replace(/\/api\/v1$/, '');
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    return (await this.send(method, path, body)).json;
  }

  /** Sends the request, and again after each of `retryDelaysMs` while the failure is a passing one. */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, path, body, headers);
      } catch (error) {
        const passing =
          error instanceof Unreachable || (error instanceof ApiError && RETRYABLE_STATUS.has(error.status));
        const delay = this.retryDelaysMs[attempt];
        if (!passing || delay === undefined) throw error;
        const retryAfter = error instanceof ApiError ? error.retryAfterMs : null;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(retryAfter ?? delay, RETRY_AFTER_MAX_MS)),
        );
      }
    }
  }

  private async once(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<ApiAnswer> {
    const url = `${this.baseUrl}/api/v1${path}`;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      const err = error as Error & { code?: string };
      throw new Unreachable(`cannot reach Runhook at ${this.baseUrl}: ${err.code ?? err.message}`);
    }
    const text = await response.body.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300 && json !== undefined) {
      return { json, replayed: String(response.headers['idempotent-replayed']).toLowerCase() === 'true' };
    }
    const where = `${method} /api/v1${path}`;
    const retryAfter = Number(response.headers['retry-after']);
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : null;
    if (isObject(json) && typeof json.error === 'string') {
      const code = typeof json.code === 'string' ? json.code : null;
      throw new ApiError(
        `${where} was refused: ${response.statusCode} ${code ?? ''} ${json.error}`.replace(/ {2,}/g, ' '),
        response.statusCode,
        code,
        retryAfterMs,
      );
    }
    throw new ApiError(
      `${where} answered ${response.statusCode} with ${json === undefined ? 'a body that is not JSON' : 'no error message'}: ${text.slice(0, 200)}`,
      response.statusCode,
      null,
      retryAfterMs,
    );
  }
}

export function stripSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asObject(value: unknown, where: string): Record<string, unknown> {
  if (!isObject(value)) throw new ReportError(`${where} answered something other than a JSON object`);
  return value;
}

export function requireString(object: Record<string, unknown>, field: string, where: string): string {
  const value = object[field];
  if (typeof value !== 'string') throw new ReportError(`${where} answered without a string "${field}"`);
  return value;
}
