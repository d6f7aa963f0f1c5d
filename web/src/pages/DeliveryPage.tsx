import { useState } from 'react';
import { api, errorMessage } from '../api';
import { HttpStatus, StatusBadge } from '../components/Badges';
import { BodyView, CodeBlock, HeadersTable } from '../components/CodeBlock';
import { KIND_LABELS } from '../components/DeliveriesTable';
import { ErrorBanner, Loading, StatusMessage } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { Time } from '../components/Time';
import { formatMs, shortId } from '../format';
import { webhookLabel } from '../queries';
import { Link, withQuery } from '../router';
import { useRunNames } from '../runNames';
import type { Agent, Attempt, DeliveryDetail, Webhook } from '../types';
import { useLoad } from '../useApi';

const POLL_MS = 500;
const POLL_FOR_MS = 30_000;

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The run an event is about: its test_run_id, or the standard payload's test_run.id. */
function runIdOf(detail: DeliveryDetail): string | null {
  const payload = detail.event?.payload as { test_run?: { id?: unknown } } | null;
  const fromPayload = typeof payload?.test_run?.id === 'string' ? payload.test_run.id : null;
  if (fromPayload && !/^0{8}-/.test(fromPayload)) return fromPayload;
  const id = detail.event?.test_run_id;
  return id && /^[0-9a-f-]{36}$/i.test(id) ? id : null;
}

export function DeliveryPage({ deliveryId }: { deliveryId: string }) {
  const id = encodeURIComponent(deliveryId);
  const loaded = useLoad(`delivery:${deliveryId}`, (signal) =>
    api.get<DeliveryDetail>(`/deliveries/${id}`, signal),
  );
  const [fresh, setFresh] = useState<DeliveryDetail | null>(null);
  const [redeliver, setRedeliver] = useState<{
    state: 'idle' | 'sending' | 'waiting' | 'done' | 'error';
    message?: string;
  }>({
    state: 'idle',
  });
  const detail = fresh ?? loaded.data;
  const webhook = useLoad(detail ? `delivery-webhook:${detail.webhook_id}` : null, async (signal) => {
    const found = await api
      .get<Webhook>(`/webhooks/${encodeURIComponent(detail!.webhook_id)}`, signal)
      .catch(() => undefined);
    const agent = found?.agent_id
      ? await api.get<Agent>(`/agents/${encodeURIComponent(found.agent_id)}`, signal).catch(() => undefined)
      : undefined;
    return { webhook: found, agents: new Map(agent ? [[agent.id, agent]] : []) };
  });
  const runNames = useRunNames([detail ? runIdOf(detail) : null]);

  async function doRedeliver() {
    if (!detail || busy) return;
    const before = detail.attempts.length;
    setRedeliver({ state: 'sending' });
    try {
      await api.post(`/deliveries/${id}/redeliver`);
    } catch (error) {
      setRedeliver({ state: 'error', message: errorMessage(error) });
      return;
    }
    setRedeliver({ state: 'waiting' });
    const until = Date.now() + POLL_FOR_MS;
    while (Date.now() < until) {
      await sleep(POLL_MS);
      try {
        const next = await api.get<DeliveryDetail>(`/deliveries/${id}`);
        setFresh(next);
        const newest = next.attempts[next.attempts.length - 1];
        if (next.attempts.length > before && newest?.response_time_ms !== undefined) {
          setRedeliver({ state: 'done', message: `Attempt ${newest.attempt_number} recorded.` });
          return;
        }
      } catch (error) {
        setRedeliver({ state: 'error', message: errorMessage(error) });
        return;
      }
    }
    setRedeliver({
      state: 'done',
      message: 'Redelivery queued; the new attempt has not been recorded yet. Refresh later.',
    });
  }

  if (loaded.error) {
    return (
      <Page title="Delivery">
        <ErrorBanner error={loaded.error} />
        <p>
          <Link to="/deliveries">Back to deliveries</Link>
        </p>
      </Page>
    );
  }
  if (!detail) {
    return (
      <Page title="Delivery">
        <Loading />
      </Page>
    );
  }

  const runId = runIdOf(detail);
  const hook = webhook.data?.webhook;
  const hookName = webhook.data ? webhookLabel(hook, webhook.data.agents) : '…';
  const busy = redeliver.state === 'sending' || redeliver.state === 'waiting';

  return (
    <Page
      title={`Delivery ${shortId(detail.id)}`}
      badge={<StatusBadge status={detail.status} />}
      subtitle={
        <>
          <Link to="/deliveries">Deliveries</Link> / {shortId(detail.id)}
        </>
      }
      actions={
        <div className="redeliver">
          <button
            type="button"
            className="button button-primary"
            onClick={doRedeliver}
            aria-disabled={busy || undefined}
          >
            {busy ? 'Redelivering…' : 'Redeliver'}
          </button>
          {redeliver.state === 'waiting' ? (
            <StatusMessage>Sent; waiting for the new attempt…</StatusMessage>
          ) : null}
          {redeliver.state === 'done' ? (
            <StatusMessage testId="redeliver-status">{redeliver.message}</StatusMessage>
          ) : null}
        </div>
      }
    >
      {redeliver.state === 'error' ? (
        <ErrorBanner>{`Redeliver failed: ${redeliver.message}`}</ErrorBanner>
      ) : null}
      <Section title="Summary" id="delivery-summary">
        <dl className="facts facts-grid" data-testid="delivery-facts">
          <div>
            <dt>Webhook</dt>
            <dd>
              {hook ? (
                <Link to={hook.agent_id ? `/agents/${hook.agent_id}` : '/settings/webhooks'}>{hookName}</Link>
              ) : (
                hookName
              )}
              {hook ? <div className="mono small break">{hook.url}</div> : null}
            </dd>
          </div>
          <div>
            <dt>Event</dt>
            <dd>
              {detail.event?.type ?? '—'}
              {runId ? (
                <>
                  {' '}
                  for run{' '}
                  <Link to={`/runs/${runId}`} className="mono" data-testid="delivery-run">
                    {runNames.get(runId) ?? shortId(runId)}
                  </Link>
                </>
              ) : null}
            </dd>
          </div>
          <div>
            <dt>Kind</dt>
            <dd data-testid="delivery-kind">{KIND_LABELS[detail.kind] ?? detail.kind}</dd>
          </div>
          {detail.failure_reason ? (
            <div>
              <dt>Why it failed</dt>
              <dd data-testid="delivery-failure-reason">{detail.failure_reason.replaceAll('_', ' ')}</dd>
            </div>
          ) : null}
          <div>
            <dt>Created</dt>
            <dd>
              <Time iso={detail.created_at} />
            </dd>
          </div>
          <div>
            <dt>Attempts</dt>
            <dd>{detail.attempt_count}</dd>
          </div>
          <div>
            <dt>Last HTTP status</dt>
            <dd>{detail.attempt_count ? <HttpStatus code={detail.last_http_status} /> : '—'}</dd>
          </div>
          <div>
            <dt>Next attempt</dt>
            <dd>{detail.status === 'pending' ? <Time iso={detail.next_attempt_at} /> : 'none'}</dd>
          </div>
          <div>
            <dt>webhook-id</dt>
            <dd className="mono small">{detail.event_id}</dd>
          </div>
        </dl>
        <p className="hint">
          <Link to={withQuery('/deliveries', { webhook_id: detail.webhook_id })}>
            Other deliveries to this webhook
          </Link>
        </p>
      </Section>

      <Section title={`Attempts (${detail.attempts.length})`} id="delivery-attempts">
        {detail.attempts.length === 0 ? (
          <p className="muted">
            No attempt yet{detail.next_attempt_at ? '; the first is due shortly.' : '.'}
          </p>
        ) : (
          <ol className="attempts">
            {detail.attempts.map((attempt, index) => (
              <AttemptItem
                key={attempt.attempt_number}
                attempt={attempt}
                latest={index === detail.attempts.length - 1}
              />
            ))}
          </ol>
        )}
      </Section>

      {detail.event ? (
        <Section title="Event" id="delivery-event">
          <details>
            <summary>
              Payload of event <span className="mono">{shortId(detail.event.id)}</span> ({detail.event.type}),
              created <Time iso={detail.event.created_at} />
            </summary>
            <CodeBlock text={JSON.stringify(detail.event.payload, null, 2)} label="Event payload" />
          </details>
        </Section>
      ) : null}
    </Page>
  );
}

/** One HTTP try. Only the latest starts open: older ones mostly repeat the same request. */
function AttemptItem({ attempt, latest }: { attempt: Attempt; latest: boolean }) {
  const headingId = `attempt-${attempt.attempt_number}`;
  return (
    <li
      className="attempt"
      data-testid="attempt"
      data-attempt-number={attempt.attempt_number}
      aria-labelledby={headingId}
    >
      <details open={latest}>
        <summary className="attempt-header">
          <h3 id={headingId}>Attempt {attempt.attempt_number}</h3>
          <span className={`badge badge-trigger-${attempt.trigger}`} data-testid="attempt-trigger">
            {attempt.trigger}
          </span>
          <span className="attempt-facts">
            HTTP <HttpStatus code={attempt.http_status} testId="attempt-status" />
          </span>
          <span className="attempt-facts">
            <span data-testid="attempt-time">{formatMs(attempt.response_time_ms)}</span> response time
          </span>
          <span className="attempt-facts">
            <Time iso={attempt.started_at} />
          </span>
          {attempt.error_class ? (
            <span className="badge badge-bad" data-testid="attempt-error-class">
              {attempt.error_class}
            </span>
          ) : null}
        </summary>
        {attempt.error_message ? <p className="attempt-error">{attempt.error_message}</p> : null}
        <div className="attempt-body">
          <div>
            <h4>Request</h4>
            <p className="mono small break">POST {attempt.request.url}</p>
            <details open>
              <summary>Headers ({Object.keys(attempt.request.headers).length})</summary>
              <HeadersTable
                headers={attempt.request.headers}
                caption={`Request headers of attempt ${attempt.attempt_number}`}
              />
            </details>
            <BodyView
              body={attempt.request.body}
              label={`Request body of attempt ${attempt.attempt_number}`}
              testId="attempt-request-body"
            />
          </div>
          <div>
            <h4>Response</h4>
            {attempt.response ? (
              <>
                <details open>
                  <summary>Headers ({Object.keys(attempt.response.headers).length})</summary>
                  <HeadersTable
                    headers={attempt.response.headers}
                    caption={`Response headers of attempt ${attempt.attempt_number}`}
                  />
                </details>
                <BodyView
                  body={attempt.response.body}
                  label={`Response body of attempt ${attempt.attempt_number}`}
                  testId="attempt-response-body"
                />
                {attempt.response.truncated ? <p className="hint">The body was cut at 64 KiB.</p> : null}
              </>
            ) : (
              <p className="muted small">No response was received.</p>
            )}
          </div>
        </div>
      </details>
    </li>
  );
}
