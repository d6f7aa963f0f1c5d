import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/apiKeys.js';
import type { AppDeps } from './app.js';
import { ApiError } from './errors.js';

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
  api.decorateRequest('orgId', '');
  api.decorateRequest('apiKeyId', '');
  api.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw new ApiError('UNAUTHORIZED', 'send your API key as "Authorization: Bearer sk_live_..."');
    }
    const t = now();
    const key = await deps.store.findApiKey(hashApiKey(match[1]), t);
    if (!key) throw new ApiError('UNAUTHORIZED', 'the API key is not valid (unknown, revoked or expired)');
    request.orgId = key.orgId;
    request.apiKeyId = key.id;
    if (t - (touched.get(key.id) ?? 0) >= TOUCH_EVERY_MS) {
      touched.set(key.id, t);
      await deps.store.touchApiKey(key.id, t);
    }
  });
}
