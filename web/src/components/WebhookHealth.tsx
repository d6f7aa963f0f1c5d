/**
 * A webhook's health on its settings screens (docs/receiving-webhooks.md, "When your endpoint
 * fails"): a badge, a banner saying why and since when it is off or failing, Re-enable, and
 * "Resend failed deliveries…", which counts first (dry run) and asks before it resends.
 */
import { useId, useState } from 'react';
import { api, errorMessage } from '../api';
import { collectPages } from '../queries';
import type { Delivery, Webhook, WebhookHealth, WebhookStats } from '../types';
import { useLoad } from '../useApi';

const HOUR = 3_600_000;

const HEALTH_TONE: Record<WebhookHealth, string> = { healthy: 'ok', degraded: 'warn', disabled: 'bad' };

export function HealthBadge({ webhook }: { webhook: Webhook }) {
  return (
    <span className={`badge badge-${HEALTH_TONE[webhook.health]}`} data-testid="health-badge">
      {webhook.health}
    </span>
  );
}

/** "3 Dec" (the year too when it is not this year). */
export function shortDate(iso: string): string {
  const date = new Date(iso);
  const sameYear = date.getFullYear() === new Date().getFullYear();
  return date.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}

interface Outage {
  /** Hours from the last success (or the webhook's creation) to when it was turned off, or now. */
  hours: number;
  /** Event deliveries that ended failed since the last success. */
  lost: number;
  /** Where a recover should start: the last success, else the webhook's creation. */
  since: string;
}

async function loadOutage(webhook: Webhook, signal: AbortSignal): Promise<Outage> {
  const id = encodeURIComponent(webhook.id);
  const stats = await api.get<WebhookStats>(`/webhooks/${id}/stats?window=7d`, signal);
  const since = stats.last_success_at ?? webhook.created_at;
  const sinceMs = Date.parse(since);
  const failed = await collectPages<'deliveries', Delivery>(
    `/webhooks/${id}/deliveries`,
    'deliveries',
    signal,
    {
      query: { status: 'failed', kind: 'event' },
      stop: (page) => page.some((d) => Date.parse(d.created_at) < sinceMs),
    },
  );
  const end = webhook.disabled_at ? Date.parse(webhook.disabled_at) : Date.now();
  return {
    hours: Math.max(0, Math.round((end - sinceMs) / HOUR)),
    lost: failed.filter((d) => Date.parse(d.created_at) >= sinceMs).length,
    since,
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Shown above a webhook's form: nothing while it is healthy; otherwise what happened, and the
 * actions that help. `onChanged` receives the webhook after Re-enable.
 */
export function WebhookHealthBanner({
  webhook,
  onChanged,
  fallsBack = false,
}: {
  webhook: Webhook;
  onChanged: (webhook: Webhook) => void;
  /** An agent webhook turned off by hand: its runs go to the organization webhook. */
  fallsBack?: boolean;
}) {
  const troubled = webhook.health !== 'healthy' && webhook.disabled_reason !== 'manual';
  const outage = useLoad(troubled ? `outage:${webhook.id}:${webhook.updated_at}` : null, (signal) =>
    loadOutage(webhook, signal),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [recovering, setRecovering] = useState(false);

  async function reenable() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      onChanged(
        await api.patch<Webhook>(`/webhooks/${encodeURIComponent(webhook.id)}`, { is_enabled: true }),
      );
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  if (webhook.health === 'healthy' && !recovering) {
    return (
      <div className="health-actions">
        <button type="button" className="button" onClick={() => setRecovering(true)}>
          Resend failed deliveries…
        </button>
      </div>
    );
  }

  const o = outage.data;
  const failingFor = o
    ? `failing for ${o.hours} h, ${plural(o.lost, 'delivery', 'deliveries')} lost`
    : 'failing';
  let message: string;
  let tone: 'bad' | 'warn' | 'neutral';
  if (webhook.health === 'disabled' && webhook.disabled_at) {
    const on = `Disabled on ${shortDate(webhook.disabled_at)}`;
    if (webhook.disabled_reason === 'gone') {
      message = `${on}: your endpoint answered 410 Gone.`;
      tone = 'bad';
    } else if (webhook.disabled_reason === 'failing') {
      message = `${on}: ${failingFor}.`;
      tone = 'bad';
    } else {
      message = `Turned off on ${shortDate(webhook.disabled_at)}.${fallsBack ? ' Runs of this agent go to the organization webhook.' : ''}`;
      tone = 'neutral';
    }
  } else if (webhook.health === 'disabled') {
    message = 'Turned off.';
    tone = 'neutral';
  } else if (webhook.health === 'degraded') {
    message = `Degraded: ${failingFor}. Deliveries are still being retried.`;
    tone = 'warn';
  } else {
    message = 'Resend the failed deliveries of a period, for example after an outage of your endpoint.';
    tone = 'neutral';
  }
  const probed = webhook.disabled_reason === 'gone' || webhook.disabled_reason === 'failing';

  return (
    <div className={`health-banner health-${tone}`} data-testid="health-banner" role="status">
      <p className="health-message">
        <strong data-testid="health-message">{message}</strong>
        {probed ? (
          <>
            {' '}
            Runs meanwhile are recorded as failed, not sent elsewhere. Runhook checks the endpoint again from
            time to time and turns the webhook back on when it answers 2xx; you can also re-enable it now.
          </>
        ) : null}
      </p>
      <div className="health-actions">
        {webhook.is_enabled ? null : (
          <button
            type="button"
            className="button button-primary"
            onClick={reenable}
            aria-disabled={busy || undefined}
          >
            {busy ? 'Re-enabling…' : 'Re-enable'}
          </button>
        )}
        {recovering ? null : (
          <button type="button" className="button" onClick={() => setRecovering(true)}>
            Resend failed deliveries…
          </button>
        )}
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {recovering ? (
        <RecoverDialog webhook={webhook} since={o?.since ?? null} onClose={() => setRecovering(false)} />
      ) : null}
    </div>
  );
}

/** A value for `<input type="datetime-local">` in the browser's time zone. */
function localInput(iso: string | number): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

type Step =
  | { kind: 'choose' }
  | { kind: 'confirm'; count: number; since: string; until: string }
  | { kind: 'done'; count: number };

/** Pick a range, see how many failed deliveries it holds (dry run), then confirm to resend them. */
export function RecoverDialog({
  webhook,
  since,
  onClose,
}: {
  webhook: Webhook;
  since: string | null;
  onClose: () => void;
}) {
  const titleId = useId();
  const fromId = useId();
  const toId = useId();
  const [from, setFrom] = useState(() => localInput(since ?? Date.now() - 24 * HOUR));
  const [to, setTo] = useState(() => localInput(Date.now() + 60_000));
  const [step, setStep] = useState<Step>({ kind: 'choose' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const path = `/webhooks/${encodeURIComponent(webhook.id)}/recover`;

  async function count() {
    if (busy) return;
    setError(null);
    const sinceIso = new Date(from).toISOString();
    const untilIso = new Date(to).toISOString();
    setBusy(true);
    try {
      const answer = await api.post<{ count: number }>(path, {
        since: sinceIso,
        until: untilIso,
        dry_run: true,
      });
      setStep({ kind: 'confirm', count: answer.count, since: sinceIso, until: untilIso });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function resend(since: string, until: string) {
    if (busy) return;
    setError(null);
    setBusy(true);
    try {
      const answer = await api.post<{ count: number }>(path, { since, until });
      setStep({ kind: 'done', count: answer.count });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="recover-dialog" role="dialog" aria-labelledby={titleId} data-testid="recover-dialog">
      <h3 id={titleId}>Resend failed deliveries</h3>
      <p className="muted">
        Every failed delivery of a test run created in this period is sent again, with its original{' '}
        <code>webhook-id</code> so your endpoint can recognise repeats.
      </p>
      {step.kind === 'choose' ? (
        <div className="recover-range">
          <div className="field field-inline">
            <label htmlFor={fromId}>From</label>
            <input id={fromId} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          </div>
          <div className="field field-inline">
            <label htmlFor={toId}>To</label>
            <input id={toId} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          </div>
          <div className="form-actions">
            <button
              type="button"
              className="button button-primary"
              onClick={count}
              disabled={!from || !to}
              aria-disabled={busy || undefined}
            >
              {busy ? 'Counting…' : 'Count failed deliveries'}
            </button>
            <button type="button" className="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      {step.kind === 'confirm' ? (
        <div>
          <p data-testid="recover-count">
            {step.count === 0
              ? 'No failed deliveries in this period: nothing to resend.'
              : `${plural(step.count, 'failed delivery', 'failed deliveries')} will be sent again.`}
          </p>
          <div className="form-actions">
            {step.count > 0 ? (
              <button
                type="button"
                className="button button-primary"
                onClick={() => resend(step.since, step.until)}
                aria-disabled={busy || undefined}
              >
                {busy ? 'Resending…' : `Resend ${plural(step.count, 'delivery', 'deliveries')}`}
              </button>
            ) : null}
            <button type="button" className="button" onClick={() => setStep({ kind: 'choose' })}>
              Change period
            </button>
            <button type="button" className="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      {step.kind === 'done' ? (
        <div>
          <p data-testid="recover-done" role="status">
            {`${plural(step.count, 'delivery', 'deliveries')} queued: they are being sent now.`}
          </p>
          <button type="button" className="button" onClick={onClose}>
            Close
          </button>
        </div>
      ) : null}
      {error ? (
        <p className="form-error" role="alert" data-testid="recover-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
