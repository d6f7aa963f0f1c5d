/**
 * Which webhooks receive an event (docs/delivery.md#which-webhook-receives-an-event): the agent's
 * own webhooks subscribed to its type that are enabled, else the org-level ones subscribed and
 * enabled, else none. An agent webhook that a person turned off falls back to the org's rather
 * than silencing the agent.
 *
 * A webhook the system turned off (`gone`, `failing`) is never silently routed around: the event
 * gets a delivery to it that ends `failed` at once (`webhook_disabled`), so nothing reaches a URL
 * its owner did not choose, and the missed event can be recovered once the endpoint is back.
 */
import { isProbed } from './health.js';
import type { DisabledReason, WebhookEventType } from './types.js';

export type Route<W> = { kind: 'send'; webhook: W } | { kind: 'blocked'; webhook: W } | { kind: 'none' };
/** One webhook an event goes to: sent, or failed at once because the system turned it off. */
export type Target<W> = { kind: 'send' | 'blocked'; webhook: W };

interface Routable {
  isEnabled: boolean;
  disabledReason: DisabledReason | null;
}

/** The one-webhook-per-scope rule: the agent's webhook, else the org's (see resolveWebhooks). */
export function resolveWebhook<W extends Routable>(agentWebhook: W | null, orgWebhook: W | null): Route<W> {
  for (const w of [agentWebhook, orgWebhook]) {
    if (w === null) continue;
    if (w.isEnabled) return { kind: 'send', webhook: w };
    if (isProbed(w.disabledReason)) return { kind: 'blocked', webhook: w };
  }
  return { kind: 'none' };
}

/**
 * The webhooks an event of `agentId` (null: an event of the organization) and `eventType` goes to,
 * out of the candidates (the organization's live webhooks of that agent and org-level). The first
 * scope, agent then organization, where a subscribed webhook is enabled or system-disabled wins;
 * `excludeId` is left out (the endpoint a health event is about).
 */
export function resolveWebhooks<
  W extends Routable & { id: string; agentId: string | null; events: readonly string[] },
>(
  candidates: readonly W[],
  agentId: string | null,
  eventType: WebhookEventType,
  excludeId: string | null = null,
): Target<W>[] {
  const scopes = agentId === null ? [null] : [agentId, null];
  for (const scope of scopes) {
    const targets: Target<W>[] = [];
    for (const w of candidates) {
      if (w.agentId !== scope || w.id === excludeId || !w.events.includes(eventType)) continue;
      if (w.isEnabled) targets.push({ kind: 'send', webhook: w });
      else if (isProbed(w.disabledReason)) targets.push({ kind: 'blocked', webhook: w });
    }
    if (targets.length > 0) return targets;
  }
  return [];
}
