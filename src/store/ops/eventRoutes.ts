/**
 * Which webhooks receive an event of a type (docs/delivery.md#which-webhook-receives-an-event).
 *
 * Today's resolution, whatever the type: the agent's webhook when it exists and sends (or is held
 * off by the system), else the organization's; `agentId: null` (an event of no single agent, such
 * as a run group of several agents) goes to the organization's webhook alone.
 */
import { type Route, resolveWebhook } from '../../domain/scoping.js';
import type { EventType, Webhook } from '../../domain/types.js';
import type { Db } from './context.js';
import { toWebhook } from './mappers.js';

/** A webhook an event goes to: sent, or `blocked` (failed at once, never sent; docs/delivery.md). */
export type EventRoute = Exclude<Route<Webhook>, { kind: 'none' }>;

export async function routesForEvent(
  db: Db,
  event: { orgId: string; agentId: string | null; eventType: EventType },
): Promise<EventRoute[]> {
  const { orgId, agentId } = event;
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .where((eb) =>
      agentId === null
        ? eb('agent_id', 'is', null)
        : eb.or([eb('agent_id', '=', agentId), eb('agent_id', 'is', null)]),
    )
    .execute();
  const hooks = rows.map(toWebhook);
  const route = resolveWebhook(
    agentId === null ? null : (hooks.find((w) => w.agentId === agentId) ?? null),
    hooks.find((w) => w.agentId === null) ?? null,
  );
  return route.kind === 'none' ? [] : [route];
}
