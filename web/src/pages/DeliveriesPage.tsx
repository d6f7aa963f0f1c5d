import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api';
import { DeliveriesTable } from '../components/DeliveriesTable';
import { DeliveryChart } from '../components/DeliveryChart';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { useLiveAttempts } from '../liveTail';
import { listAllAgents, listAllWebhooks, webhookLabel } from '../queries';
import { navigate, useLocation, withQuery } from '../router';
import { DELIVERY_KINDS, DELIVERY_STATUSES, type Delivery, type ListPage } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TR_ID = /^tr-\d{5,}$/i;

type Search =
  | { by: 'none' }
  | { by: 'invalid' }
  | { by: 'test_run_id' | 'event_id' | 'either'; value: string };

/**
 * What the search box holds: a TR- id is a test run; a UUID may be a run's, an event's (the
 * `webhook-id` header a receiver logged) or a delivery's, so it is tried as each in turn.
 */
function searchOf(text: string): Search {
  const value = text.trim();
  if (value === '') return { by: 'none' };
  if (TR_ID.test(value)) return { by: 'test_run_id', value: value.toUpperCase() };
  if (UUID.test(value)) return { by: 'either', value: value.toLowerCase() };
  return { by: 'invalid' };
}

type Listed = ListPage & { deliveries: Delivery[]; matched?: 'test_run_id' | 'event_id' };

async function loadDeliveries(
  query: Record<string, string | number | null>,
  search: Search,
  signal: AbortSignal,
): Promise<Listed> {
  const get = (extra: Record<string, string>) =>
    api.get<Listed>(withQuery('/deliveries', { ...query, ...extra }), signal);
  if (search.by === 'test_run_id')
    return { ...(await get({ test_run_id: search.value })), matched: 'test_run_id' };
  if (search.by !== 'either') return get({});
  const byEvent = await get({ event_id: search.value });
  if (byEvent.total > 0) return { ...byEvent, matched: 'event_id' };
  const byRun = await get({ test_run_id: search.value });
  if (byRun.total > 0) return { ...byRun, matched: 'test_run_id' };
  // The id of a delivery itself: open it.
  const delivery = await api.get<Delivery>(`/deliveries/${search.value}`, signal).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });
  if (delivery) navigate(`/deliveries/${delivery.id}`);
  return byRun;
}

export function DeliveriesPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const webhookId = search.get('webhook_id') ?? '';
  const kind = search.get('kind') ?? '';
  const q = search.get('q') ?? '';
  const find = searchOf(q);
  const [draft, setDraft] = useState(q);
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const query = { status, kind, webhook_id: webhookId, limit: LIMIT, offset };
  const path = withQuery('/deliveries', { ...query, q });
  const loaded = useLoad(find.by === 'invalid' ? null : path, (signal) =>
    loadDeliveries(query, find, signal),
  );
  // Live: an attempt recorded anywhere refetches the list, at most every half second.
  const refetch = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => clearTimeout(refetch.current ?? undefined), []);
  useLiveAttempts(() => {
    if (refetch.current) return;
    refetch.current = setTimeout(() => {
      refetch.current = null;
      loaded.reload();
    }, 500);
  }, webhookId);
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

  function setFilter(next: {
    status?: string;
    kind?: string;
    webhook_id?: string;
    q?: string;
    offset?: number;
  }) {
    navigate(
      withQuery('/deliveries', {
        status: next.status ?? status,
        kind: next.kind ?? kind,
        webhook_id: next.webhook_id ?? webhookId,
        q: next.q ?? q,
        offset: next.offset || null,
      }),
      { replace: next.offset === undefined && next.q === undefined },
    );
  }

  function submitSearch(event: FormEvent) {
    event.preventDefault();
    setFilter({ q: draft.trim() });
  }

  const searchError =
    find.by === 'invalid'
      ? 'Enter a test run id (a UUID or TR-00042), an event id (the webhook-id header) or a delivery id.'
      : null;
  const matchedText =
    find.by !== 'none' && find.by !== 'invalid' && loaded.data && !loaded.loading
      ? loaded.data.matched === 'event_id'
        ? `Deliveries of event ${find.value}`
        : loaded.data.matched === 'test_run_id'
          ? `Deliveries of test run ${find.value}`
          : null
      : null;

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
        <p className="hint" data-testid="live-hint">
          This list updates by itself as attempts are recorded.
        </p>
        <search aria-label="Deliveries">
          <form className="search-form" onSubmit={submitSearch} noValidate>
            <div className="field field-inline">
              <label htmlFor="deliveries-search">Find by run or event id</label>
              <input
                id="deliveries-search"
                type="search"
                value={draft}
                placeholder="TR-00042, a run UUID, or a webhook-id"
                spellCheck={false}
                autoComplete="off"
                aria-describedby="deliveries-search-hint"
                aria-invalid={searchError ? true : undefined}
                onChange={(e) => setDraft(e.target.value)}
              />
              <button type="submit" className="button">
                Search
              </button>
              {q ? (
                <button
                  type="button"
                  className="button"
                  onClick={() => {
                    setDraft('');
                    setFilter({ q: '' });
                  }}
                >
                  Clear search
                </button>
              ) : null}
            </div>
            <p className="hint" id="deliveries-search-hint">
              {searchError ?? 'The webhook-id header your receiver got is the event id.'}
            </p>
          </form>
        </search>
        {matchedText ? (
          <p className="search-result" data-testid="search-result">
            {matchedText}
          </p>
        ) : null}
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
        {searchError ? null : !loaded.data ? (
          loaded.error ? null : (
            <Loading />
          )
        ) : loaded.data.deliveries.length === 0 ? (
          <Empty>
            {q
              ? `No delivery of a test run or event with the id ${q.trim()}.`
              : status || kind || webhookId
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
