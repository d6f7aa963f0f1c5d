import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/apiKeys.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { RateLimiter } from './rateLimit.js';

declare module 'fastify' {
  interface FastifyRequest {
    orgId: string;
    apiKeyId: string;
  }
}

const TOUCH_EVERY_MS = 60_000;

/** Bearer API keys on every /api/v1 route. `last_used_at` is written at most once a minute per key. */
export function registerAuth(api: FastifyInstance, deps: AppDeps): void {
  const now = deps.now ?? Date.now;
  const touched = new Map<string, number>();
  // Counted per organization: minting more keys does not buy a larger budget.
  const perOrg = new RateLimiter(deps.config.rateLimit, deps.config.rateLimit * 2);
  // Guessing keys is slow: failed sign-ins are held to 20 a second per client address (bursts of 200).
  const failures = new RateLimiter(20, 200);
  const limited = (retryAfter: number, reply: { header(k: string, v: string): unknown }) => {
    reply.header('retry-after', String(retryAfter));
    return new ApiError('RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, {
      retry_after_seconds: retryAfter,
    });
  };
  api.decorateRequest('orgId', '');
  api.decorateRequest('apiKeyId', '');
  api.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const t = now();
    if (!match?.[1]) {
      const wait = failures.take(request.ip, t);
      if (wait > 0) throw limited(wait, reply);
      throw new ApiError('UNAUTHORIZED', 'send your API key as "Authorization: Bearer sk_live_..."');
    }
    const key = await deps.store.findApiKey(hashApiKey(match[1]), t);
    if (!key) {
      const wait = failures.take(request.ip, t);
      if (wait > 0) throw limited(wait, reply);
    }
    if (!key) throw new ApiError('UNAUTHORIZED', 'the API key is not valid (unknown, revoked or expired)');
    const wait = perOrg.take(key.orgId, t);
    if (wait > 0) throw limited(wait, reply);
    request.orgId = key.orgId;
    request.apiKeyId = key.id;
    if (t - (touched.get(key.id) ?? 0) >= TOUCH_EVERY_MS) {
      touched.set(key.id, t);
      await deps.store.touchApiKey(key.id, t);
    }
  });
}
