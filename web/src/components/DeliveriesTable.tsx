import { formatMs, shortId } from '../format';
import { Link } from '../router';
import { useRunNames } from '../runNames';
import type { Delivery } from '../types';
import { HttpStatus, StatusBadge } from './Badges';
import { Time } from './Time';

/** failure_reason in words (docs/api.md). */
const FAILURE_REASONS: Record<string, string> = {
  attempts_exhausted: 'out of retries',
  gone: '410 Gone',
  webhook_disabled: 'webhook disabled',
  webhook_deleted: 'webhook deleted',
};

interface DeliveriesTableProps {
  deliveries: Delivery[];
  caption: string;
  /** Name of each delivery's webhook; the column is left out when not given. */
  webhookName?: (webhookId: string) => string;
}

/** Kinds in words: Test Webhook and probe sends are not about a run. */
export const KIND_LABELS: Record<string, string> = {
  event: 'run event',
  test: 'Test Webhook',
  probe: 'probe',
};

export function DeliveriesTable({ deliveries, caption, webhookName }: DeliveriesTableProps) {
  const runNames = useRunNames(deliveries.map((d) => d.test_run_id));
  return (
    <div className="table-wrap">
      <table className="table" data-testid="deliveries-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Delivery</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Kind</th>
            <th scope="col">Run</th>
            {webhookName ? <th scope="col">Webhook</th> : null}
            <th scope="col">HTTP</th>
            <th scope="col" className="num">
              Response time
            </th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Next attempt</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr
              key={d.id}
              data-testid="delivery-row"
              data-delivery-id={d.id}
              data-status={d.status}
              data-kind={d.kind}
            >
              <td>
                <Link to={`/deliveries/${d.id}`} className="mono" aria-label={`Delivery ${shortId(d.id)}`}>
                  {shortId(d.id)}
                </Link>
              </td>
              <td>
                <Time iso={d.created_at} />
              </td>
              <td>
                <StatusBadge status={d.status} />
                {d.failure_reason ? (
                  <span className="muted failure-reason" data-testid="failure-reason">
                    {' '}
                    {FAILURE_REASONS[d.failure_reason] ?? d.failure_reason}
                  </span>
                ) : null}
              </td>
              <td>
                <span className={`kind kind-${d.kind}`} data-testid="delivery-kind">
                  {KIND_LABELS[d.kind] ?? d.kind}
                </span>
              </td>
              <td>
                {d.test_run_id ? (
                  <Link to={`/runs/${d.test_run_id}`} className="mono" data-testid="delivery-run">
                    {runNames.get(d.test_run_id) ?? shortId(d.test_run_id)}
                  </Link>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              {webhookName ? <td>{webhookName(d.webhook_id)}</td> : null}
              <td>
                {d.attempt_count === 0 ? (
                  <span className="muted">—</span>
                ) : (
                  <HttpStatus code={d.last_http_status} />
                )}
              </td>
              <td className="num">{formatMs(d.last_response_time_ms)}</td>
              <td className="num">{d.attempt_count}</td>
              <td>
                {d.status === 'pending' && d.waiting ? (
                  <span className="muted" title="Sent when the delivery before it (same agent) has finished">
                    waiting in order
                  </span>
                ) : d.status === 'pending' ? (
                  <Time iso={d.next_attempt_at} relative />
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
