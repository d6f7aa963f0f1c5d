import type { FastifyInstance } from 'fastify';
import { CONFIG_MAX_BYTES, checkAgentConfig, configBytes } from '../../domain/agentConfig.js';
import type { SecretBox } from '../../security/secretBox.js';
import { ConflictError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError, invalidField } from '../errors.js';
import { idempotentAnswer } from '../idempotency.js';
import { isUuid, pageOf } from '../params.js';
import { presentAgent } from '../present.js';
import {
  agentListQuery,
  agentSchema,
  createAgentBody,
  emptyBody,
  idempotencyHeaders,
  idParams,
  listResponse,
  updateAgentBody,
  validateAgentSchema,
} from '../schemas.js';

interface AgentBody {
  name?: string;
  description?: string | null;
  provider?: string | null;
  config?: Record<string, unknown> | null;
  is_active?: boolean;
  /** Read-only; accepted on PUT/PATCH so a GET answer can be sent back, and ignored. */
  has_config?: boolean;
}

const agentNotFound = () => new ApiError('AGENT_NOT_FOUND', 'agent not found');

/**
 * The config as stored: sealed JSON (docs/api.md#agents). Undefined: not given; null: none. Its
 * size is checked here, and the error names the limit, never the config's content.
 */
function sealConfig(box: SecretBox, config: Record<string, unknown> | null | undefined) {
  if (config === undefined || config === null) return config;
  const bytes = configBytes(config);
  if (bytes > CONFIG_MAX_BYTES) {
    throw invalidField('config', `config must be at most ${CONFIG_MAX_BYTES} bytes as JSON (it is ${bytes})`);
  }
  return box.seal(JSON.stringify(config));
}

export function registerAgentRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, secretBox } = deps;
  const now = deps.now ?? Date.now;
  const tags = ['agents'];

  api.post<{ Body: AgentBody }>(
    '/agents',
    {
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Create an agent',
        body: createAgentBody,
        response: { 201: agentSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const configEnc = sealConfig(secretBox, b.config) ?? null;
      try {
        const agent = await store.createAgent(
          req.orgId,
          {
            name: b.name!,
            description: b.description ?? '',
            provider: b.provider ?? null,
            isActive: b.is_active ?? true,
            configEnc,
          },
          now(),
          idempotentAnswer(req, 201, presentAgent),
        );
        return reply.code(201).send(presentAgent(agent));
      } catch (err) {
        if (err instanceof ConflictError)
          throw new ApiError('ALREADY_EXISTS', err.message, { field: 'name' });
        throw err;
      }
    },
  );

  api.get<{ Querystring: { limit?: number; offset?: number; provider?: string } }>(
    '/agents',
    {
      schema: {
        tags,
        summary: 'List agents',
        querystring: agentListQuery,
        response: { 200: listResponse('agents', agentSchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listAgents(req.orgId, { provider: req.query.provider }, page);
      return { agents: items.map(presentAgent), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/agents/:id',
    { schema: { tags, summary: 'Get an agent', params: idParams, response: { 200: agentSchema } } },
    async (req) => {
      const agent = isUuid(req.params.id) ? await store.getAgent(req.orgId, req.params.id) : null;
      if (!agent) throw agentNotFound();
      return presentAgent(agent);
    },
  );

  const update = async (req: { orgId: string; params: { id: string }; body: AgentBody }) => {
    if (!isUuid(req.params.id)) throw agentNotFound();
    const b = req.body;
    const configEnc = sealConfig(secretBox, b.config);
    try {
      const agent = await store.updateAgent(
        req.orgId,
        req.params.id,
        {
          name: b.name,
          description: b.description === null ? '' : b.description,
          provider: b.provider,
          isActive: b.is_active,
          configEnc,
        },
        now(),
      );
      if (!agent) throw agentNotFound();
      return presentAgent(agent);
    } catch (err) {
      if (err instanceof ConflictError) throw new ApiError('ALREADY_EXISTS', err.message, { field: 'name' });
      throw err;
    }
  };
  const updateSchema = {
    tags,
    summary: 'Update an agent (partial)',
    params: idParams,
    body: updateAgentBody,
    response: { 200: agentSchema },
  };
  api.put<{ Params: { id: string }; Body: AgentBody }>('/agents/:id', { schema: updateSchema }, update);
  api.patch<{ Params: { id: string }; Body: AgentBody }>('/agents/:id', { schema: updateSchema }, update);

  api.post<{ Params: { id: string } }>(
    '/agents/:id/validate',
    {
      schema: {
        tags,
        summary:
          "Check the agent's config has what its provider needs (shape only; the provider is not contacted)",
        params: idParams,
        body: emptyBody,
        response: { 200: validateAgentSchema },
      },
    },
    async (req) => {
      const found = isUuid(req.params.id) ? await store.getAgentConfig(req.orgId, req.params.id) : null;
      if (!found) throw agentNotFound();
      const config =
        found.configEnc === null
          ? null
          : (JSON.parse(secretBox.open(found.configEnc)) as Record<string, unknown>);
      return checkAgentConfig(found.agent.provider, config);
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/agents/:id',
    { schema: { tags, summary: 'Delete an agent and its webhook', params: idParams } },
    async (req, reply) => {
      const deleted = isUuid(req.params.id) && (await store.deleteAgent(req.orgId, req.params.id, now()));
      if (!deleted) throw agentNotFound();
      return reply.code(204).send();
    },
  );
}
