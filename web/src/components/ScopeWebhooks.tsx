import { useState } from 'react';
import { api } from '../api';
import { listAllWebhooks } from '../queries';
import type { Webhook } from '../types';
import { useLoad } from '../useApi';
import { EnabledBadge } from './Badges';
import { ConfirmButton } from './ConfirmButton';
import { Empty, ErrorBanner, Loading } from './Feedback';
import { Section } from './Page';
import { WebhookForm } from './WebhookForm';
import { HealthBadge } from './WebhookHealth';

/**
 * The scope's other webhooks (docs/delivery.md#which-webhook-receives-an-event): an organization
 * or an agent may have several, each subscribed to its own event types. The page's first webhook
 * keeps its own section above; this lists the rest, and adds, edits and removes them.
 */
export function ScopeWebhooks({ agentId, primaryId }: { agentId: string | null; primaryId: string | null }) {
  const loaded = useLoad(`scope-webhooks:${agentId ?? 'org'}`, (signal) => listAllWebhooks(signal));
  const [local, setLocal] = useState<Webhook[] | null>(null);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const all = local ?? loaded.data;
  const others = (all ?? [])
    .filter((w) => w.agent_id === agentId && w.id !== primaryId)
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  const replace = (next: Webhook[]) => setLocal(next);

  async function remove(w: Webhook) {
    setFailure(null);
    try {
      await api.delete(`/webhooks/${encodeURIComponent(w.id)}`);
      replace((all ?? []).filter((x) => x.id !== w.id));
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <Section
      title={agentId ? 'More webhooks of this agent' : 'More organization webhooks'}
      id={agentId ? 'agent-more-webhooks' : 'org-more-webhooks'}
      actions={
        primaryId && !adding ? (
          <button type="button" className="button" onClick={() => setAdding(true)} data-testid="add-webhook">
            Add webhook
          </button>
        ) : null
      }
    >
      <p className="muted">
        Every webhook here receives the events it is subscribed to, beside the one above: one delivery each.
      </p>
      <ErrorBanner error={loaded.error ?? failure} />
      {!all ? loaded.error ? null : <Loading /> : null}
      {all && others.length === 0 && !adding ? (
        <Empty>
          {primaryId ? 'No other webhook.' : 'Save the webhook above first; then you can add more.'}
        </Empty>
      ) : null}
      {others.length > 0 ? (
        <div className="table-wrap">
          <table className="table" data-testid="scope-webhooks">
            <caption className="visually-hidden">Other webhooks of this scope</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint URL</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {others.map((w) => (
                <tr key={w.id} data-webhook-id={w.id}>
                  <td className="mono break">{w.url}</td>
                  <td className="mono">{w.events.join(', ')}</td>
                  <td>
                    <EnabledBadge enabled={w.is_enabled} />
                  </td>
                  <td>
                    <HealthBadge webhook={w} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="button"
                      onClick={() => setEditing(editing === w.id ? null : w.id)}
                    >
                      {editing === w.id ? 'Close' : 'Edit'}
                    </button>{' '}
                    <ConfirmButton
                      label="Remove"
                      ariaLabel={`Remove webhook ${w.url}`}
                      question="Delete this webhook?"
                      confirmLabel="Delete webhook"
                      onConfirm={() => remove(w)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {editing
        ? others
            .filter((w) => w.id === editing)
            .map((w) => (
              <WebhookForm
                key={w.id}
                webhook={w}
                agentId={agentId}
                idPrefix={`webhook-${w.id.slice(0, 8)}`}
                label={`Webhook ${w.url}`}
                deleteLabel="Delete webhook"
                onSaved={(saved) => replace((all ?? []).map((x) => (x.id === saved.id ? saved : x)))}
                onDeleted={() => {
                  setEditing(null);
                  replace((all ?? []).filter((x) => x.id !== w.id));
                }}
              />
            ))
        : null}
      {adding ? (
        <>
          <h3>New webhook</h3>
          <WebhookForm
            webhook={null}
            agentId={agentId}
            idPrefix="new-webhook"
            label="New webhook"
            deleteLabel="Delete webhook"
            onSaved={(saved) => {
              setAdding(false);
              replace([...(all ?? []), saved]);
            }}
            onDeleted={() => setAdding(false)}
          />
        </>
      ) : null}
    </Section>
  );
}
