/**
 * Which webhook receives a run's event (docs/delivery.md#which-webhook-receives-an-event): the agent's own webhook when
 * it exists and is enabled, else the org-level webhook when enabled, else none. An agent webhook
 * that a person turned off falls back to the org's rather than silencing the agent.
 *
 * A webhook the system turned off (`gone`, `failing`) is never silently routed around: the run
 * gets a delivery to it that ends `failed` at once (`webhook_disabled`), so nothing reaches a URL
 * its owner did not choose, and the missed event can be recovered once the endpoint is back.
 */
import { isProbed } from './health.js';
import type { DisabledReason } from './types.js';

export type Route<W> = { kind: 'send'; webhook: W } | { kind: 'blocked'; webhook: W } | { kind: 'none' };

export function resolveWebhook<W extends { isEnabled: boolean; disabledReason: DisabledReason | null }>(
  agentWebhook: W | null,
  orgWebhook: W | null,
): Route<W> {
  for (const w of [agentWebhook, orgWebhook]) {
    if (w === null) continue;
    if (w.isEnabled) return { kind: 'send', webhook: w };
    if (isProbed(w.disabledReason)) return { kind: 'blocked', webhook: w };
  }
  return { kind: 'none' };
}
