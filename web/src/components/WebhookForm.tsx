import { type FormEvent, useState } from 'react';
import {
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_FORMATS,
  WEBHOOK_ORDERINGS,
  type WebhookEventType,
  type WebhookFormat,
  type WebhookOrdering,
} from '../../../src/domain/types';
import { CLIX_EVENT_TYPES } from '../../../src/domain/validateWebhook';
import { ApiError, api } from '../api';
import type { Webhook } from '../types';
import { draftOf, type FilterDraft, filterOfDraft } from '../webhookFilter';
import { ConfirmButton } from './ConfirmButton';
import { ErrorBanner, StatusMessage } from './Feedback';
import { Field } from './Field';
import { FilterEditor } from './FilterEditor';
import { FormatPreview } from './FormatPreview';
import { type HeaderRow, HeadersEditor, headerRows, rowsToHeaders } from './HeadersEditor';
import { type SecretChange, SecretField } from './SecretField';

/** Labels of the formats the server knows (the list comes from src/domain/types.ts). */
const FORMAT_LABELS: Record<string, string> = {
  standard: 'Standard — Runhook JSON (test_run_completed)',
  clix: 'TestCLIX — {timestamp, test_id, status, created_at}',
  slack: 'Slack — incoming-webhook message',
  discord: 'Discord — webhook message with one embed',
  teams: 'Microsoft Teams — workflow webhook, Adaptive Card',
};

/** Labels of the orderings (docs/delivery.md, "Ordered delivery"). */
const ORDERING_LABELS: Record<WebhookOrdering, string> = {
  parallel: 'Parallel — deliveries go out as they come',
  fifo: 'In order (FIFO) — one at a time per agent',
};

/** What each event type means, for the subscription checkboxes (docs/delivery.md#event-types). */
const EVENT_LABELS: Record<WebhookEventType, string> = {
  test_run_completed: 'A test run finished',
  test_run_started: 'A test run started',
  test_run_group_completed: 'Every run of a group finished',
  test_status_changed: 'A test became failing, flaky or passing again',
  webhook_disabled: 'Another webhook was disabled',
  webhook_recovered: 'Another webhook is back on',
};

type FieldName =
  | 'url'
  | 'secret'
  | 'description'
  | 'format'
  | 'ordering'
  | 'headers'
  | 'is_enabled'
  | 'filter'
  | 'events';

/** `details.field` from the API ("url", "headers.X-Team", "headers[0]"…) → the control to mark. */
function fieldOf(error: ApiError): FieldName | undefined {
  const field = error.field;
  if (!field) return undefined;
  const root = field.split(/[.[]/)[0] as FieldName;
  return [
    'url',
    'secret',
    'description',
    'format',
    'ordering',
    'headers',
    'is_enabled',
    'filter',
    'events',
  ].includes(root)
    ? root
    : undefined;
}

interface WebhookFormProps {
  /** The saved webhook, or null when none exists yet (Save creates it). */
  webhook: Webhook | null;
  /** null for the organization-level webhook. */
  agentId: string | null;
  idPrefix: string;
  onSaved: (webhook: Webhook) => void;
  onDeleted: () => void;
  onDirtyChange?: (dirty: boolean) => void;
  deleteLabel: string;
  /** The form's accessible name; default "Organization webhook" or "Agent webhook". */
  label?: string;
}

export function WebhookForm({
  webhook,
  agentId,
  idPrefix,
  onSaved,
  onDeleted,
  onDirtyChange,
  deleteLabel,
  label,
}: WebhookFormProps) {
  // Before a webhook exists nothing is sent, so the switch shows Off; typing an endpoint turns it
  // on (what Save will create) unless the user set the switch themselves.
  const [enabled, setEnabled] = useState(webhook?.is_enabled ?? false);
  const [switchTouched, setSwitchTouched] = useState(false);
  const [url, setUrl] = useState(webhook?.url ?? '');
  const [description, setDescription] = useState(webhook?.description ?? '');
  const [format, setFormat] = useState<WebhookFormat>(webhook?.format ?? 'standard');
  const [ordering, setOrdering] = useState<WebhookOrdering>(webhook?.ordering ?? 'parallel');
  const [events, setEvents] = useState<WebhookEventType[]>(() => [
    ...(webhook?.events ?? DEFAULT_WEBHOOK_EVENTS),
  ]);
  const [filterDraft, setFilterDraft] = useState<FilterDraft>(() => draftOf(webhook?.filter));
  const [rows, setRows] = useState<HeaderRow[]>(() => headerRows(webhook?.headers ?? {}));
  const [secret, setSecret] = useState<SecretChange>({ mode: 'keep' });
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  function touched<T>(setter: (value: T) => void) {
    return (value: T) => {
      setter(value);
      setSaved(false);
      onDirtyChange?.(true);
    };
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (saving) return;
    setErrors({});
    setFailure(null);
    setSaved(false);

    const parsed = rowsToHeaders(rows);
    if ('error' in parsed) {
      setErrors({ headers: parsed.error });
      setFailure('Please fix the custom headers.');
      return;
    }
    const filter = filterOfDraft(filterDraft);
    if ('error' in filter) {
      setErrors({ filter: filter.error });
      setFailure('Please fix which runs are sent.');
      return;
    }
    if (events.length === 0) {
      setErrors({ events: 'Choose at least one event.' });
      setFailure('Choose the events this webhook receives.');
      return;
    }
    if (!url.trim()) {
      setErrors({ url: 'Enter the URL that should receive the webhook.' });
      setFailure('The endpoint URL is required.');
      return;
    }

    const body: Record<string, unknown> = {
      url: url.trim(),
      description,
      is_enabled: enabled,
      format,
      ordering,
      headers: parsed.headers,
      filter: filter.filter,
      // In the list's order, whatever order they were ticked in.
      events: WEBHOOK_EVENT_TYPES.filter((e) => events.includes(e)),
    };
    if (secret.mode === 'set' && secret.value !== '') body.secret = secret.value;
    if (secret.mode === 'clear') body.secret = null;

    setSaving(true);
    try {
      const result = webhook
        ? await api.patch<Webhook>(`/webhooks/${encodeURIComponent(webhook.id)}`, body)
        : await api.post<Webhook>('/webhooks', { ...body, ...(agentId ? { agent_id: agentId } : {}) });
      setSecret({ mode: 'keep' });
      setSaved(true);
      onDirtyChange?.(false);
      onSaved(result);
    } catch (error) {
      setFailure(error);
      if (error instanceof ApiError) {
        const field = fieldOf(error);
        if (field) setErrors({ [field]: error.message });
      }
    } finally {
      setSaving(false);
    }
  }

  async function remove() {
    if (!webhook) return;
    setFailure(null);
    try {
      await api.delete(`/webhooks/${encodeURIComponent(webhook.id)}`);
      onDirtyChange?.(false);
      onDeleted();
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <form
      className="webhook-form"
      onSubmit={save}
      noValidate
      aria-label={label ?? (agentId ? 'Agent webhook' : 'Organization webhook')}
    >
      <ErrorBanner error={failure} />
      <div className="field field-switch">
        <input
          id={`${idPrefix}-enabled`}
          type="checkbox"
          role="switch"
          aria-checked={enabled}
          className="switch"
          checked={enabled}
          onChange={(e) => {
            setSwitchTouched(true);
            touched(setEnabled)(e.target.checked);
          }}
          aria-describedby={`${idPrefix}-enabled-hint`}
        />
        <label htmlFor={`${idPrefix}-enabled`}>Send webhook notifications</label>
        <p className="hint" id={`${idPrefix}-enabled-hint`}>
          {webhook
            ? enabled
              ? 'On: a POST is sent when a test run finishes.'
              : 'Off: nothing is sent.'
            : enabled
              ? 'On once saved: a POST is sent when a test run finishes.'
              : 'Off: there is no webhook yet. Enter an endpoint URL and save to turn it on.'}
          {agentId && !enabled ? ' While off, this agent’s runs go to the organization webhook.' : ''}
        </p>
      </div>

      <Field
        id={`${idPrefix}-url`}
        label="Endpoint URL"
        hint="http or https. Private and loopback addresses are refused unless the server allows them."
        error={errors.url}
      >
        {(describedBy, invalid) => (
          <input
            id={`${idPrefix}-url`}
            type="url"
            inputMode="url"
            placeholder="https://example.com/webhooks/runhook"
            value={url}
            maxLength={2048}
            spellCheck={false}
            autoComplete="off"
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onChange={(e) => {
              touched(setUrl)(e.target.value);
              if (!webhook && !switchTouched) setEnabled(e.target.value.trim() !== '');
            }}
          />
        )}
      </Field>

      <SecretField
        idPrefix={idPrefix}
        hasSecret={webhook?.has_secret ?? false}
        change={secret}
        onChange={touched(setSecret)}
        error={errors.secret}
      />

      {webhook?.public_key ? (
        <Field
          id={`${idPrefix}-public-key`}
          label="Public key (ed25519)"
          hint="Deliveries carry a v1a signature; receivers verify it with this key (it is not secret)."
        >
          {(describedBy) => (
            <input
              id={`${idPrefix}-public-key`}
              value={webhook.public_key ?? ''}
              readOnly
              spellCheck={false}
              aria-describedby={describedBy}
              data-testid="webhook-public-key"
            />
          )}
        </Field>
      ) : null}

      <div className="field-grid">
        <Field id={`${idPrefix}-format`} label="Payload format" error={errors.format}>
          {(describedBy, invalid) => (
            <select
              id={`${idPrefix}-format`}
              value={format}
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onChange={(e) => touched(setFormat)(e.target.value as WebhookFormat)}
            >
              {WEBHOOK_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {FORMAT_LABELS[f] ?? f}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id={`${idPrefix}-description`} label="Description (optional)" error={errors.description}>
          {(describedBy, invalid) => (
            <input
              id={`${idPrefix}-description`}
              value={description}
              maxLength={2000}
              placeholder="e.g. CI pipeline trigger"
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onChange={(e) => touched(setDescription)(e.target.value)}
            />
          )}
        </Field>
      </div>

      <Field
        id={`${idPrefix}-ordering`}
        label="Delivery order"
        hint={
          ordering === 'fifo'
            ? 'Each agent’s deliveries go out one at a time, in the order the runs finished. A delivery that keeps failing holds the later ones back until its retries end.'
            : 'Deliveries go out as they come, several at once.'
        }
        error={errors.ordering}
      >
        {(describedBy, invalid) => (
          <select
            id={`${idPrefix}-ordering`}
            value={ordering}
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onChange={(e) => touched(setOrdering)(e.target.value as WebhookOrdering)}
          >
            {WEBHOOK_ORDERINGS.map((o) => (
              <option key={o} value={o}>
                {ORDERING_LABELS[o]}
              </option>
            ))}
          </select>
        )}
      </Field>

      <FormatPreview format={format} id={`${idPrefix}-format-preview`} />

      <fieldset className="field" aria-describedby={`${idPrefix}-events-hint`} data-testid="webhook-events">
        <legend>Events</legend>
        <p className="hint" id={`${idPrefix}-events-hint`}>
          What this webhook receives. An agent’s runs go to its own webhooks subscribed to the event, else to
          the organization’s.{format === 'clix' ? ' TestCLIX format carries finished runs only.' : ''}
        </p>
        {WEBHOOK_EVENT_TYPES.map((type) => {
          const carried = format !== 'clix' || CLIX_EVENT_TYPES.includes(type);
          return (
            <div className="field-checkbox" key={type}>
              <input
                id={`${idPrefix}-event-${type}`}
                type="checkbox"
                value={type}
                checked={events.includes(type)}
                disabled={!carried}
                onChange={(e) =>
                  touched(setEvents)(e.target.checked ? [...events, type] : events.filter((x) => x !== type))
                }
              />
              <label htmlFor={`${idPrefix}-event-${type}`}>
                <span className="mono">{type}</span> — {EVENT_LABELS[type]}
              </label>
            </div>
          );
        })}
        {errors.events ? (
          <p className="field-error" role="alert">
            {errors.events}
          </p>
        ) : null}
      </fieldset>

      <FilterEditor
        idPrefix={idPrefix}
        agentScoped={agentId !== null}
        draft={filterDraft}
        onChange={touched(setFilterDraft)}
        error={errors.filter}
      />

      <HeadersEditor idPrefix={idPrefix} rows={rows} onChange={touched(setRows)} error={errors.headers} />

      <div className="form-actions">
        <button type="submit" className="button button-primary" aria-disabled={saving || undefined}>
          {saving ? 'Saving…' : 'Save'}
        </button>
        {saved ? <StatusMessage testId="save-status">Saved</StatusMessage> : null}
        <span className="spacer" />
        {webhook ? (
          <ConfirmButton
            label={deleteLabel}
            question="Delete this webhook?"
            confirmLabel="Delete webhook"
            onConfirm={remove}
          />
        ) : null}
      </div>
    </form>
  );
}
