/**
 * Operator alerts (docs/configuration.md#runhook_alert_url): the body POSTed to RUNHOOK_ALERT_URL
 * when a webhook's health changes, in the `standard` shape or as a Slack message. Pure.
 *
 * Tenants choose their webhook's URL and their organization's name: an alert names the webhook by
 * id, scheme and host only (the path and query of a Slack, Discord or Teams URL are its
 * credential), and every tenant-supplied string is escaped for the format it lands in.
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
  /** Alerts of this webhook left unsent since the last one sent (RUNHOOK_ALERT_INTERVAL). */
  suppressed: number;
}

const HEADLINES: Record<AlertEvent, string> = {
  'webhook.degraded': ':warning: Webhook degraded',
  'webhook.disabled': ':no_entry: Webhook disabled',
  'webhook.recovered': ':white_check_mark: Webhook recovered',
};

/** `scheme://host[:port]` of a webhook URL: what an alert may show of it. */
export function alertUrlOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparseable url)';
  }
}

/** Text safe inside a Slack message: its control characters `& < >` escaped. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function alertBody(format: 'standard' | 'slack', a: AlertFacts): string {
  const origin = alertUrlOrigin(a.webhook.url);
  if (format === 'slack') {
    const s = escapeSlackText;
    const scope =
      a.webhook.agentId === null ? 'org-level webhook' : `webhook of agent ${s(a.webhook.agentId)}`;
    let text =
      `${HEADLINES[a.event]} (${s(a.reason ?? 'no reason')}): ${scope} ${s(a.webhook.id)} (${s(origin)}) ` +
      `of organization ${s(a.organization.name)}, ${a.consecutiveFailures} failed attempts in a row`;
    if (a.suppressed > 0) {
      text += `\n${a.suppressed} earlier ${a.suppressed === 1 ? 'alert' : 'alerts'} for this webhook not sent (at most one per RUNHOOK_ALERT_INTERVAL)`;
    }
    return JSON.stringify({ text });
  }
  return JSON.stringify({
    event: a.event,
    timestamp: toIso(a.createdAt),
    organization: { id: a.organization.id, name: a.organization.name },
    webhook: { id: a.webhook.id, url: origin, agent_id: a.webhook.agentId },
    reason: a.reason,
    consecutive_failures: a.consecutiveFailures,
    suppressed: a.suppressed,
  });
}
