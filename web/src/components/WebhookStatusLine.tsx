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
      {webhook.ordering === 'fifo' ? (
        <span
          data-testid="webhook-waiting-line"
          className={webhook.waiting_count > 0 && webhook.consecutive_failures > 0 ? 'text-bad' : undefined}
        >
          {waitingText(webhook)}
        </span>
      ) : null}
      <Link to={withQuery('/deliveries', { webhook_id: webhook.id })}>View delivery history</Link>
    </p>
  );
}

/** A fifo webhook's queue (docs/delivery.md, "Ordered delivery"): what waits, and behind what. */
function waitingText(webhook: Webhook): string {
  const n = webhook.waiting_count;
  if (n === 0) return 'In order, one at a time per agent: nothing waiting';
  const what = n === 1 ? '1 delivery waiting' : `${n} deliveries waiting`;
  return webhook.consecutive_failures > 0
    ? `${what} behind a failing delivery (until its retries end)`
    : `${what} behind an earlier one`;
}
