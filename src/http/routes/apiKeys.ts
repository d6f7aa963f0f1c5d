import type { FastifyInstance } from 'fastify';
import { parseIsoTime, toIso } from '../../domain/time.js';
import { generateApiKey, newApiKeyRecord } from '../../security/apiKeys.js';
import { MAX_ACTIVE_API_KEYS } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError, invalidField } from '../errors.js';
import { isUuid, pageOf } from '../params.js';
import { presentApiKey } from '../present.js';
import {
  apiKeySchema,
  createApiKeyBody,
  createdApiKeySchema,
  idParams,
  listQuery,
  listResponse,
} from '../schemas.js';

export function registerApiKeyRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const tags = ['api keys'];

  api.post<{ Body: { name: string; expires_at?: string | null } }>(
    '/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key (its value is shown once)',
        body: createApiKeyBody,
        response: { 201: createdApiKeySchema },
      },
    },
    async (req, reply) => {
      const t = now();
      let expiresAt: number | null = null;
      if (req.body.expires_at != null) {
        expiresAt = parseIsoTime(req.body.expires_at);
        if (expiresAt === null) throw invalidField('expires_at', 'expires_at must be an ISO-8601 time');
        if (expiresAt <= t) throw invalidField('expires_at', 'expires_at must be in the future');
      }
      const key = generateApiKey();
      const outcome = await store.createApiKey(req.orgId, newApiKeyRecord(key, req.body.name, expiresAt), t);
      if (outcome.kind === 'too_many_keys') {
        throw new ApiError(
          'INVALID_STATE',
          `the organization already has ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first`,
          { max_active_keys: MAX_ACTIVE_API_KEYS },
        );
      }
      const created = outcome.key;
      return reply.code(201).send({
        id: created.id,
        name: created.name,
        key,
        created_at: toIso(created.createdAt),
        expires_at: created.expiresAt === null ? null : toIso(created.expiresAt),
      });
    },
  );

  api.get<{ Querystring: { limit?: number; offset?: number } }>(
    '/api-keys',
    {
      schema: {
        tags,
        summary: "List the organization's API keys",
        querystring: listQuery(),
        response: { 200: listResponse('api_keys', apiKeySchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listApiKeys(req.orgId, page);
      return { api_keys: items.map(presentApiKey), total, ...page };
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/api-keys/:id',
    {
      schema: {
        tags,
        summary: "Revoke an API key (it stops working at once); not the organization's last active one",
        params: idParams,
      },
    },
    async (req, reply) => {
      if (!isUuid(req.params.id)) throw new ApiError('NOT_FOUND', 'API key not found');
      const outcome = await store.revokeApiKey({
        id: req.params.id,
        orgId: req.orgId,
        now: now(),
        keepLastActiveKey: true,
      });
      if (outcome.kind === 'not_found') throw new ApiError('NOT_FOUND', 'API key not found');
      if (outcome.kind === 'last_active_key') {
        throw new ApiError(
          'INVALID_STATE',
          "this is the organization's last active API key; create another one before revoking it",
        );
      }
      return reply.code(204).send();
    },
  );
}
