/**
 * Which webhooks receive an event (docs/delivery.md#which-webhook-receives-an-event), read from the
 * database inside the caller's transaction, so the deliveries it then writes agree with the
 * webhooks as that transaction sees them. The rule itself is src/domain/scoping.ts.
 */
import { resolveWebhooks, type Target } from '../../domain/scoping.js';
import type { Webhook, WebhookEventType } from '../../domain/types.js';
import type { Db } from './context.js';
import { toWebhook } from './mappers.js';

/** One webhook an event goes to: `send` (a pending delivery) or `blocked` (failed at once, `webhook_disabled`). */
export type EventRoute = Target<Webhook>;

export interface EventRouteQuery {
  orgId: string;
  /** The agent the event is about; null for an event of the organization (org-level webhooks only). */
  agentId: string | null;
  eventType: WebhookEventType;
  /** A webhook never to send this event to: the endpoint a `webhook_disabled` event is about. */
  excludeWebhookId?: string | null;
}

/**
 * The webhooks an event goes to, one delivery each: the agent's enabled webhooks subscribed to the
 * type; when it has none (a system-disabled one subscribed counts, as `blocked`), the org-level
 * ones subscribed. In a stable order (creation, then id).
 */
export async function routesForEvent(db: Db, query: EventRouteQuery): Promise<EventRoute[]> {
  const { orgId, agentId } = query;
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
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return resolveWebhooks(rows.map(toWebhook), agentId, query.eventType, query.excludeWebhookId ?? null);
}
