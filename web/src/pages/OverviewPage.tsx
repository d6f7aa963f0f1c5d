import { api } from '../api';
import { EnabledBadge } from '../components/Badges';
import { DeliveriesTable } from '../components/DeliveriesTable';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { RunsTable } from '../components/RunsTable';
import { Time } from '../components/Time';
import { findOrgWebhook } from '../queries';
import { Link, withQuery } from '../router';
import type { Delivery, ListPage, TestRun } from '../types';
import { useLoad } from '../useApi';

/** A list's `total`, read with the smallest page. */
function total(path: string, query: Record<string, string>, signal: AbortSignal): Promise<number> {
  return api.get<ListPage>(withQuery(path, { ...query, limit: 1 }), signal).then((page) => page.total);
}

export function OverviewPage() {
  const counts = useLoad('overview-counts', async (signal) => {
    const [agents, runs, failed, pending] = await Promise.all([
      total('/agents', {}, signal),
      total('/runs', {}, signal),
      // Test Webhook and probe sends are not run events: they are not counted here.
      total('/deliveries', { status: 'failed', kind: 'event' }, signal),
      total('/deliveries', { status: 'pending', kind: 'event' }, signal),
    ]);
    return { agents, runs, failed, pending };
  });
  const org = useLoad('overview-org-webhook', (signal) => findOrgWebhook(signal));
  const runs = useLoad('overview-runs', (signal) =>
    api.get<ListPage & { runs: TestRun[] }>('/runs?limit=5', signal),
  );
  const failed = useLoad('overview-failed', (signal) =>
    api.get<ListPage & { deliveries: Delivery[] }>('/deliveries?status=failed&kind=event&limit=5', signal),
  );

  const tiles: { label: string; value: number | undefined; to: string; tone?: string }[] = [
    { label: 'Agents', value: counts.data?.agents, to: '/agents' },
    { label: 'Test runs', value: counts.data?.runs, to: '/runs' },
    {
      label: 'Failed deliveries',
      value: counts.data?.failed,
      to: '/deliveries?status=failed&kind=event',
      tone: 'bad',
    },
    {
      label: 'Pending deliveries',
      value: counts.data?.pending,
      to: '/deliveries?status=pending&kind=event',
      tone: 'warn',
    },
  ];

  return (
    <Page title="Overview">
      {counts.error ? <ErrorBanner error={counts.error} /> : null}
      <ul className="tiles" aria-label="Totals">
        {tiles.map((tile) => (
          <li key={tile.label}>
            <Link to={tile.to} className={`tile${tile.tone && tile.value ? ` tile-${tile.tone}` : ''}`}>
              <span className="tile-value">{tile.value ?? '…'}</span>
              <span className="tile-label">{tile.label}</span>
            </Link>
          </li>
        ))}
      </ul>

      <Section
        title="Organization webhook"
        id="overview-webhook"
        actions={<Link to="/settings/webhooks">Configure</Link>}
      >
        {org.error ? <ErrorBanner error={org.error} /> : null}
        {org.data === undefined ? (
          org.error ? null : (
            <Loading />
          )
        ) : org.data === null ? (
          <Empty>
            Not set up yet. <Link to="/settings/webhooks">Add the organization webhook</Link> to be told when
            test runs finish.
          </Empty>
        ) : (
          <p className="status-line">
            <EnabledBadge enabled={org.data.is_enabled} on="notifications on" off="notifications off" />
            <span className="mono break">{org.data.url}</span>
            <span>
              Last triggered <Time iso={org.data.last_triggered_at} relative />
            </span>
          </p>
        )}
      </Section>

      <Section title="Latest test runs" id="overview-runs" actions={<Link to="/runs">All runs</Link>}>
        {runs.error ? <ErrorBanner error={runs.error} /> : null}
        {!runs.data ? (
          runs.error ? null : (
            <Loading />
          )
        ) : runs.data.runs.length === 0 ? (
          <Empty>No test runs yet.</Empty>
        ) : (
          <RunsTable runs={runs.data.runs} caption="Latest test runs" />
        )}
      </Section>

      <Section
        title="Latest failed deliveries"
        id="overview-failed"
        actions={<Link to="/deliveries?status=failed&kind=event">All failed</Link>}
      >
        {failed.error ? <ErrorBanner error={failed.error} /> : null}
        {!failed.data ? (
          failed.error ? null : (
            <Loading />
          )
        ) : failed.data.deliveries.length === 0 ? (
          <Empty>No failed deliveries. </Empty>
        ) : (
          <DeliveriesTable deliveries={failed.data.deliveries} caption="Latest failed deliveries" />
        )}
      </Section>
    </Page>
  );
}
