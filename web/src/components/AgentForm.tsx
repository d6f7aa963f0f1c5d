import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError } from '../api';
import { AGENT_PROVIDERS, type Agent } from '../types';
import { ErrorBanner, StatusMessage } from './Feedback';
import { Field } from './Field';

export interface AgentInput {
  name: string;
  description: string;
  /** Left out when an edit keeps the agent's provider (one saved before the list may not be sent back). */
  provider?: string | null;
  is_active: boolean;
}

interface AgentFormProps {
  agent?: Agent;
  idPrefix: string;
  submitLabel: string;
  onSubmit: (input: AgentInput) => Promise<void>;
  extraActions?: ReactNode;
}

/**
 * Name, description, provider and active flag — for both "create" and "edit". The provider config
 * is write-only and set through the API (AgentConfigStatus shows whether there is one).
 */
export function AgentForm({ agent, idPrefix, submitLabel, onSubmit, extraActions }: AgentFormProps) {
  const [name, setName] = useState(agent?.name ?? '');
  const [description, setDescription] = useState(agent?.description ?? '');
  const [provider, setProvider] = useState(agent?.provider ?? '');
  const [active, setActive] = useState(agent?.is_active ?? true);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setErrors({});
    setFailure(null);
    setSaved(false);
    if (!name.trim()) {
      setErrors({ name: 'An agent needs a name.' });
      setFailure('The name is required.');
      return;
    }
    setBusy(true);
    try {
      const chosen = provider || null;
      await onSubmit({
        name: name.trim(),
        description,
        ...(agent && chosen === agent.provider ? {} : { provider: chosen }),
        is_active: active,
      });
      setSaved(true);
    } catch (error) {
      setFailure(error);
      if (error instanceof ApiError && error.field) setErrors({ [error.field]: error.message });
      else if (error instanceof ApiError && error.code === 'ALREADY_EXISTS')
        setErrors({ name: error.message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-label={agent ? 'Agent details' : 'New agent'}>
      <ErrorBanner error={failure} />
      <div className="field-grid">
        <Field
          id={`${idPrefix}-name`}
          label="Name"
          error={errors.name}
          hint="What your tests exercise: an app, service or suite, e.g. checkout-api. Unique in your organization; runhook report --agent finds it by this name."
        >
          {(describedBy, invalid) => (
            <input
              id={`${idPrefix}-name`}
              value={name}
              maxLength={200}
              required
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onChange={(e) => {
                setName(e.target.value);
                setSaved(false);
              }}
            />
          )}
        </Field>
        <Field
          id={`${idPrefix}-provider`}
          label="Built with (optional)"
          error={errors.provider}
          hint="Leave at none unless the agent is a voice or chat agent on one of these platforms (the provider field of Preclinical's API). Runhook only stores it."
        >
          {(describedBy, invalid) => (
            <select
              id={`${idPrefix}-provider`}
              value={provider}
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onChange={(e) => {
                setProvider(e.target.value);
                setSaved(false);
              }}
            >
              <option value="">none</option>
              {AGENT_PROVIDERS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
              {agent?.provider && !(AGENT_PROVIDERS as readonly string[]).includes(agent.provider) ? (
                <option value={agent.provider}>{agent.provider} (kept as saved)</option>
              ) : null}
            </select>
          )}
        </Field>
      </div>
      <Field id={`${idPrefix}-description`} label="Description (optional)" error={errors.description}>
        {(describedBy, invalid) => (
          <textarea
            id={`${idPrefix}-description`}
            value={description}
            rows={2}
            maxLength={2000}
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onChange={(e) => {
              setDescription(e.target.value);
              setSaved(false);
            }}
          />
        )}
      </Field>
      <div className="field field-checkbox">
        <input
          id={`${idPrefix}-active`}
          type="checkbox"
          checked={active}
          aria-describedby={`${idPrefix}-active-hint`}
          onChange={(e) => {
            setActive(e.target.checked);
            setSaved(false);
          }}
        />
        <label htmlFor={`${idPrefix}-active`}>Active</label>
        <p className="hint" id={`${idPrefix}-active-hint`}>
          A label for your lists: runs of an inactive agent are still recorded and delivered.
        </p>
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-primary" aria-disabled={busy || undefined}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        {saved && agent ? <StatusMessage testId="agent-save-status">Saved</StatusMessage> : null}
        <span className="spacer" />
        {extraActions}
      </div>
    </form>
  );
}
