/**
 * `Idempotency-Key` on the POSTs that create or finish something (docs/api.md#idempotency): the
 * first answer is kept 24 hours per organization and key; the same key with the same request gets
 * that answer again (`Idempotent-Replayed: true`) and changes nothing, even when both arrive at
 * once; the same key with another request is a 409. Only answers that changed something (2xx)
 * are kept: after an error nothing happened, so a retry with the same key is judged afresh. The
 * routes that create or finish something keep their answer in that same transaction
 * (idempotentAnswer); the onSend hook keeps the others' and releases the key after an error.
 *
 * A route opts in with `config: { idempotent: true }`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotentAnswer } from '../store/store.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    idempotent?: boolean;
  }
  interface FastifyRequest {
    /** The Idempotency-Key this request holds, until its answer is kept or the key released. */
    idempotencyKey: string | null;
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_KEY_MAX = 255;
/**
 * How long a request holds its key before another may take over (its process is presumed dead).
 * Short is safe: the answer is kept in the transaction of what the request changes, so of two
 * requests holding one key only one can commit (the other rolls back, IdempotencyKeyTakenError).
 */
const LOCK_MS = 10_000;
/** How often a request that found its key in use by an identical one checks for the answer. */
const POLL_MS = 50;

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same": method, route, path parameters and body. */
function fingerprint(request: FastifyRequest): string {
  return createHash('sha256')
    .update(canonicalJson([request.method, request.routeOptions.url, request.params, request.body ?? {}]))
    .digest('hex');
}

function keyOf(request: FastifyRequest): string | null {
  const raw = request.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX) {
    throw new ApiError(
      'INVALID_FIELD_VALUE',
      `the Idempotency-Key header must be 1–${IDEMPOTENCY_KEY_MAX} characters`,
      { field: 'Idempotency-Key' },
    );
  }
  return key;
}

/**
 * The answer a keyed request keeps in the transaction of what it creates or finishes (so a crash
 * after the commit cannot lose it); undefined without an Idempotency-Key. `present` turns the
 * stored object into the body this route answers with `statusCode`.
 */
export function idempotentAnswer<T>(
  request: FastifyRequest,
  statusCode: number,
  present: (stored: T) => unknown,
): IdempotentAnswer<T> | undefined {
  const key = request.idempotencyKey;
  if (key === null) return undefined;
  return {
    orgId: request.orgId,
    key,
    render: (stored) => ({ statusCode, body: JSON.stringify(present(stored)) }),
  };
}

export function registerIdempotency(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  api.decorateRequest('idempotencyKey', null);

  // After validation: a request refused as invalid never touches its key.
  api.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.idempotent !== true) return;
    const key = keyOf(request);
    if (key === null) return;
    const print = fingerprint(request);
    const deadline = now() + LOCK_MS + 5_000;
    for (;;) {
      const claim = await store.claimIdempotencyKey({
        orgId: request.orgId,
        key,
        fingerprint: print,
        now: now(),
        lockMs: LOCK_MS,
      });
      switch (claim.kind) {
        case 'claimed':
          request.idempotencyKey = key;
          return;
        case 'replay':
          reply.code(claim.statusCode).header(REPLAYED_HEADER, 'true');
          return reply.send(JSON.parse(claim.body));
        case 'mismatch':
          throw new ApiError(
            'ALREADY_EXISTS',
            'this Idempotency-Key was already used for another request; use a new key for a new request',
            { field: 'Idempotency-Key' },
          );
        case 'in_progress':
          // An identical request is being answered right now: wait for its answer.
          if (now() > deadline) {
            throw new ApiError(
              'ALREADY_EXISTS',
              'a request with this Idempotency-Key is still being processed; retry later',
              { field: 'Idempotency-Key' },
            );
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  });

  api.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const key = request.idempotencyKey;
    if (key === null) return payload;
    request.idempotencyKey = null;
    if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
      await store.completeIdempotencyKey({
        orgId: request.orgId,
        key,
        statusCode: reply.statusCode,
        body: payload,
      });
    } else {
      await store.releaseIdempotencyKey(request.orgId, key);
    }
    return payload;
  });
}
