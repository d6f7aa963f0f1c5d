import { api } from '../api';
import { DeliveriesTable } from '../components/DeliveriesTable';
import { DeliveryChart } from '../components/DeliveryChart';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { listAllAgents, listAllWebhooks, webhookLabel } from '../queries';
import { navigate, useLocation, withQuery } from '../router';
import { DELIVERY_KINDS, DELIVERY_STATUSES, type Delivery, type ListPage } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 20;

export function DeliveriesPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const webhookId = search.get('webhook_id') ?? '';
  const kind = search.get('kind') ?? '';
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const path = withQuery('/deliveries', { status, kind, webhook_id: webhookId, limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { deliveries: Delivery[] }>(path, signal));
  const names = useLoad('webhook-names', async (signal) => {
    const [webhooks, agents] = await Promise.all([listAllWebhooks(signal), listAllAgents(signal)]);
    return { webhooks, agents: new Map(agents.map((a) => [a.id, a])) };
  });

  const webhooks = names.data?.webhooks ?? [];
  const agents = names.data?.agents ?? new Map();
  const nameOf = (id: string) =>
    names.data
      ? webhookLabel(
          webhooks.find((w) => w.id === id),
          agents,
        )
      : '…';
  // The organization webhook first, then agents' by name.
  const options = [...webhooks].sort((a, b) =>
    a.agent_id === null ? -1 : b.agent_id === null ? 1 : nameOf(a.id).localeCompare(nameOf(b.id)),
  );

  function setFilter(next: { status?: string; kind?: string; webhook_id?: string; offset?: number }) {
    navigate(
      withQuery('/deliveries', {
        status: next.status ?? status,
        kind: next.kind ?? kind,
        webhook_id: next.webhook_id ?? webhookId,
        offset: next.offset || null,
      }),
      { replace: next.offset === undefined },
    );
  }

  return (
    <Page title="Deliveries" subtitle="Every event sent to a webhook, newest first, with each HTTP attempt.">
      {webhookId ? (
        <Section title={`Last 24 hours · ${nameOf(webhookId)}`} id="deliveries-chart">
          <DeliveryChart webhookId={webhookId} />
        </Section>
      ) : null}
      <Section
        title="Delivery history"
        id="deliveries"
        actions={
          <button type="button" className="button" onClick={loaded.reload}>
            Refresh
          </button>
        }
      >
        <fieldset className="filters">
          <legend className="visually-hidden">Filter deliveries</legend>
          <div className="field field-inline">
            <label htmlFor="deliveries-status">Status</label>
            <select
              id="deliveries-status"
              value={status}
              onChange={(e) => setFilter({ status: e.target.value })}
            >
              <option value="">All statuses</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div className="field field-inline">
            <label htmlFor="deliveries-kind">Kind</label>
            <select id="deliveries-kind" value={kind} onChange={(e) => setFilter({ kind: e.target.value })}>
              <option value="">All kinds</option>
              {DELIVERY_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k === 'event' ? 'event (test runs)' : k}
                </option>
              ))}
            </select>
          </div>
          <div className="field field-inline">
            <label htmlFor="deliveries-webhook">Webhook</label>
            <select
              id="deliveries-webhook"
              value={webhookId}
              onChange={(e) => setFilter({ webhook_id: e.target.value })}
            >
              <option value="">All webhooks</option>
              {options.map((w) => (
                <option key={w.id} value={w.id}>
                  {nameOf(w.id)}
                </option>
              ))}
              {webhookId && names.data && !webhooks.some((w) => w.id === webhookId) ? (
                <option value={webhookId}>Deleted webhook</option>
              ) : null}
            </select>
          </div>
        </fieldset>
        {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
        {!loaded.data ? (
          loaded.error ? null : (
            <Loading />
          )
        ) : loaded.data.deliveries.length === 0 ? (
          <Empty>
            {status || kind || webhookId
              ? 'No deliveries match these filters.'
              : 'No deliveries yet. They appear here when a test run finishes or you press Test Webhook.'}
          </Empty>
        ) : (
          <>
            <DeliveriesTable
              deliveries={loaded.data.deliveries}
              caption="Delivery history"
              webhookName={nameOf}
            />
            <Pagination
              label="Deliveries"
              total={loaded.data.total}
              limit={LIMIT}
              offset={offset}
              onChange={(o) => setFilter({ offset: o })}
            />
          </>
        )}
      </Section>
    </Page>
  );
}
