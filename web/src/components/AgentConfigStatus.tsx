import { useState } from 'react';
import { api } from '../api';
import type { Agent, AgentValidation } from '../types';
import { ErrorBanner } from './Feedback';

/** "configured" beside an agent that has a provider config stored (its content is never shown). */
export function ConfiguredBadge({ agent }: { agent: Agent }) {
  if (!agent.has_config) return null;
  return (
    <span
      className="badge badge-info"
      data-testid="agent-configured"
      title="A provider config is stored, encrypted"
    >
      configured
    </span>
  );
}

/**
 * The agent's provider config: whether one is stored, and a check of its shape
 * (POST /agents/{id}/validate; the provider is not contacted).
 */
export function AgentConfigStatus({ agent }: { agent: Agent }) {
  const [result, setResult] = useState<AgentValidation | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function check() {
    setBusy(true);
    setFailure(null);
    try {
      setResult(await api.post<AgentValidation>(`/agents/${encodeURIComponent(agent.id)}/validate`));
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="subsection" data-testid="agent-config">
      <h3>Provider config</h3>
      <p>
        {agent.has_config ? (
          <>
            <ConfiguredBadge agent={agent} /> A config is stored, encrypted. It is write-only: set or clear it
            through the API (<span className="mono">PUT /api/v1/agents/{'{id}'}</span> with{' '}
            <span className="mono">config</span>).
          </>
        ) : (
          <span className="muted">
            No config stored. Agents tested through Preclinical's API carry their provider's keys in{' '}
            <span className="mono">config</span>, set through the API.
          </span>
        )}
      </p>
      <ErrorBanner error={failure} />
      <p>
        <button type="button" className="button" onClick={check} aria-disabled={busy || undefined}>
          {busy ? 'Checking…' : 'Check config'}
        </button>{' '}
        {result ? (
          <span
            className={result.valid ? 'text-ok' : 'text-bad'}
            data-testid="agent-config-check"
            data-valid={String(result.valid)}
            role="status"
          >
            {result.message}
          </span>
        ) : (
          <span className="muted">
            Checks that the keys its provider needs are there; it does not call the provider.
          </span>
        )}
      </p>
    </div>
  );
}
