/**
 * Which webhook receives a run's event (docs/delivery.md#which-webhook-receives-an-event): the agent's own webhook when it exists and is
 * enabled, else the org-level webhook when enabled, else none. A disabled agent webhook falls
 * back to the org's rather than silencing the agent.
 */
export function resolveWebhook<W extends { isEnabled: boolean }>(
  agentWebhook: W | null,
  orgWebhook: W | null,
): W | null {
  if (agentWebhook?.isEnabled) return agentWebhook;
  if (orgWebhook?.isEnabled) return orgWebhook;
  return null;
}
