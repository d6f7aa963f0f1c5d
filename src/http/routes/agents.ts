import type { FastifyInstance } from 'fastify';
import { ConflictError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { idempotentAnswer } from '../idempotency.js';
import { isUuid, pageOf } from '../params.js';
import { presentAgent } from '../present.js';
import {
  agentSchema,
  createAgentBody,
  idempotencyHeaders,
  idParams,
  listQuery,
  listResponse,
  updateAgentBody,
} from '../schemas.js';

interface AgentBody {
  name?: string;
  description?: string | null;
  provider?: string | null;
  is_active?: boolean;
}

const agentNotFound = () => new ApiError('AGENT_NOT_FOUND', 'agent not found');

export function registerAgentRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
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
      try {
        const agent = await store.createAgent(
          req.orgId,
          {
            name: b.name!,
            description: b.description ?? '',
            provider: b.provider ?? null,
            isActive: b.is_active ?? true,
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

  api.get<{ Querystring: { limit?: number; offset?: number } }>(
    '/agents',
    {
      schema: {
        tags,
        summary: 'List agents',
        querystring: listQuery(),
        response: { 200: listResponse('agents', agentSchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listAgents(req.orgId, page);
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
    try {
      const agent = await store.updateAgent(
        req.orgId,
        req.params.id,
        {
          name: b.name,
          description: b.description === null ? '' : b.description,
          provider: b.provider,
          isActive: b.is_active,
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
