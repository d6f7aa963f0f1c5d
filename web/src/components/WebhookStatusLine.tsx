import { Link, withQuery } from '../router';
import type { Webhook } from '../types';
import { describeFilter } from '../webhookFilter';
import { Time } from './Time';

/** When the webhook last fired and how it has been doing since its last success. */
export function WebhookStatusLine({ webhook }: { webhook: Webhook }) {
  return (
    <p className="status-line" data-testid="webhook-status-line">
      <span>
        Last triggered: <Time iso={webhook.last_triggered_at} relative />
      </span>
      <span className={webhook.consecutive_failures > 0 ? 'text-bad' : undefined}>
        {webhook.consecutive_failures === 1
          ? '1 failed attempt'
          : `${webhook.consecutive_failures} failed attempts`}{' '}
        since the last success
      </span>
      <span data-testid="webhook-filter-line">Sent for {describeFilter(webhook.filter)}</span>
      <Link to={withQuery('/deliveries', { webhook_id: webhook.id })}>View delivery history</Link>
    </p>
  );
}
