/**
 * The route cache of finished runs written at once (docs/architecture.md#the-store): an agent and
 * the webhooks that may receive its runs, read in one statement and kept up to 10 s per agent, with
 * a text of their route-relevant state that the write compares under the organization's row lock.
 *
 * Used by other ops: `routeSnapshot` and `webhookStateSql` (finishedRunAtOnce.ts).
 */
import { type Selectable, sql } from 'kysely';
import type { Webhook } from '../../domain/types.js';
import type { WebhooksTable } from '../schema.js';
import { AgentMissingError } from '../store.js';
import type { Ctx } from './context.js';
import { toWebhook } from './mappers.js';

/**
 * What createFinishedRunAtOnce read about an agent and the webhooks that may receive its runs. It
 * may be kept a while because it is never trusted: each run checks it under the organization's
 * row lock and falls back (dropping it) when anything changed, so keeping it only saves the reads.
 */
interface RouteSnapshot {
  agent: { id: string; name: string };
  webhooks: Webhook[];
  state: string | null;
  until: number;
}
const ROUTE_CACHE_MS = 10_000;
const ROUTE_CACHE_MAX = 10_000;
const routeCaches = new WeakMap<object, Map<string, RouteSnapshot>>();

/**
 * The route-relevant state of the webhooks that may receive an agent's runs (docs/delivery.md):
 * which exist, their scope, whether and why they are off, their format, filter, ordering and event types. The same text
 * whenever nothing of that changed; read with the snapshot and compared under the row lock.
 */
export function webhookStateSql(ctx: Ctx, orgId: unknown, agentId: unknown) {
  const hooks = sql`webhooks WHERE org_id = ${orgId} AND deleted_at IS NULL
    AND (agent_id = ${agentId} OR agent_id IS NULL)`;
  const fields = sql`id, agent_id, is_enabled, disabled_reason, format, filter, ordering, events`;
  return ctx.hooks.dialect === 'sqlite'
    ? sql<
        string | null
      >`(SELECT json_group_array(json_array(${fields})) FROM (SELECT * FROM ${hooks} ORDER BY id))`
    : sql<string | null>`(SELECT json_agg(json_build_array(${fields}) ORDER BY id)::text FROM ${hooks})`;
}

/**
 * The agent and the webhooks that may receive its runs, from the cache or read afresh in one
 * statement (so from one snapshot: the webhooks and their state text agree). A missing agent is not
 * remembered: it is answered from the database every time.
 */
export async function routeSnapshot(ctx: Ctx, orgId: string, agentId: string) {
  const { db } = ctx;
  const cache = routeCaches.get(db) ?? new Map<string, RouteSnapshot>();
  routeCaches.set(db, cache);
  const key = `${orgId}:${agentId}`;
  const forget = () => cache.delete(key);
  const kept = cache.get(key);
  if (kept && kept.until > Date.now()) return { snapshot: kept, forget };
  forget();
  const rows = await db
    .selectFrom('agents')
    .leftJoin('webhooks', (join) =>
      join
        .onRef('webhooks.org_id', '=', 'agents.org_id')
        .on('webhooks.deleted_at', 'is', null)
        .on((eb) => eb.or([eb('webhooks.agent_id', '=', agentId), eb('webhooks.agent_id', 'is', null)])),
    )
    .selectAll('webhooks')
    .select(['agents.name as route_agent_name', webhookStateSql(ctx, orgId, agentId).as('route_state')])
    .where('agents.org_id', '=', orgId)
    .where('agents.id', '=', agentId)
    .execute();
  const first = rows[0];
  if (!first) throw new AgentMissingError('agent not found');
  const snapshot: RouteSnapshot = {
    agent: { id: agentId, name: first.route_agent_name },
    webhooks: rows.flatMap((r) => (r.id === null ? [] : [toWebhook(r as Selectable<WebhooksTable>)])),
    state: first.route_state,
    until: Date.now() + ROUTE_CACHE_MS,
  };
  if (cache.size >= ROUTE_CACHE_MAX) cache.clear();
  cache.set(key, snapshot);
  return { snapshot, forget };
}
