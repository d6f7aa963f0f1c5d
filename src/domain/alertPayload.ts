/**
 * Operator alerts (docs/configuration.md#runhook_alert_url): the body POSTed to RUNHOOK_ALERT_URL
 * when a webhook's health changes, in the `standard` shape or as a Slack message. Pure.
 */
import type { AlertEvent } from './health.js';
import { toIso } from './time.js';

export interface AlertFacts {
  event: AlertEvent;
  createdAt: number;
  organization: { id: string; name: string };
  webhook: { id: string; url: string; agentId: string | null };
  reason: string | null;
  consecutiveFailures: number;
}

const HEADLINES: Record<AlertEvent, string> = {
  'webhook.degraded': ':warning: Webhook degraded',
  'webhook.disabled': ':no_entry: Webhook disabled',
  'webhook.recovered': ':white_check_mark: Webhook recovered',
};

export function alertBody(format: 'standard' | 'slack', a: AlertFacts): string {
  if (format === 'slack') {
    const scope = a.webhook.agentId === null ? 'org-level webhook' : `webhook of agent ${a.webhook.agentId}`;
    const text =
      `${HEADLINES[a.event]} (${a.reason ?? 'no reason'}): ${scope} ${a.webhook.url} ` +
      `of organization ${a.organization.name}, ${a.consecutiveFailures} failed attempts in a row`;
    return JSON.stringify({ text });
  }
  return JSON.stringify({
    event: a.event,
    timestamp: toIso(a.createdAt),
    organization: { id: a.organization.id, name: a.organization.name },
    webhook: { id: a.webhook.id, url: a.webhook.url, agent_id: a.webhook.agentId },
    reason: a.reason,
    consecutive_failures: a.consecutiveFailures,
  });
}
