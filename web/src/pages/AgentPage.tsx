import { type ReactNode, useState } from 'react';
import { api } from '../api';
import { AgentConfigStatus, ConfiguredBadge } from '../components/AgentConfigStatus';
import { AgentForm, type AgentInput } from '../components/AgentForm';
import { AgentTests } from '../components/AgentTests';
import { EnabledBadge } from '../components/Badges';
import { ConfirmButton } from '../components/ConfirmButton';
import { DeliveryChart } from '../components/DeliveryChart';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { RunsTable } from '../components/RunsTable';
import { ScopeWebhooks } from '../components/ScopeWebhooks';
import { useWebhookEditing, WebhookEditor } from '../components/WebhookEditor';
import { HealthBadge } from '../components/WebhookHealth';
import { findAgentWebhook, findOrgWebhook } from '../queries';
import { Link, navigate, useLocation, withQuery } from '../router';
import type { Agent, ListPage, TestRun, Webhook } from '../types';
import { useLoad } from '../useApi';

export function AgentPage({ agentId }: { agentId: string }) {
  const id = encodeURIComponent(agentId);
  const loaded = useLoad(`agent:${agentId}`, (signal) => api.get<Agent>(`/agents/${id}`, signal));
  const [agent, setAgent] = useState<Agent | null>(null);
  const current = agent ?? loaded.data;
  const tab = useLocation().search.get('tab') === 'tests' ? 'tests' : 'overview';

  if (loaded.error) {
    return (
      <Page title="Agent">
        <ErrorBanner error={loaded.error} />
        <p>
          <Link to="/agents">Back to agents</Link>
        </p>
      </Page>
    );
  }
  if (!current) {
    return (
      <Page title="Agent">
        <Loading />
      </Page>
    );
  }

  async function save(input: AgentInput) {
    setAgent(await api.put<Agent>(`/agents/${id}`, input));
  }

  async function remove() {
    await api.delete(`/agents/${id}`);
    navigate('/agents');
  }

  return (
    <Page
      title={current.name}
      badge={
        <>
          <EnabledBadge enabled={current.is_active} on="active" off="inactive" />{' '}
          <ConfiguredBadge agent={current} />
        </>
      }
      subtitle={
        <>
          <Link to="/agents">Agents</Link> / {current.name}
        </>
      }
    >
      <nav aria-label="Agent">
        <ul className="agent-tabs">
          <li>
            <Link to={`/agents/${id}`} aria-current={tab === 'overview' ? 'page' : undefined}>
              Settings and runs
            </Link>
          </li>
          <li>
            <Link
              to={withQuery(`/agents/${id}`, { tab: 'tests' })}
              aria-current={tab === 'tests' ? 'page' : undefined}
              data-testid="tests-tab"
            >
              Tests
            </Link>
          </li>
        </ul>
      </nav>
      {tab === 'tests' ? (
        <Section title="Tests" id="agent-tests" testId="agent-tests">
          <p className="muted">
            Each test over its last 20 results: failing tests first, then flaky ones (outcome switched between
            passing and failing 3 or more times in its last 10 runs), then passing.
          </p>
          <AgentTests agentId={agentId} />
        </Section>
      ) : (
        <AgentOverview agentId={agentId} agent={current} onSave={save} onRemove={remove} />
      )}
    </Page>
  );
}

function AgentOverview({
  agentId,
  agent: current,
  onSave: save,
  onRemove: remove,
}: {
  agentId: string;
  agent: Agent;
  onSave: (input: AgentInput) => Promise<void>;
  onRemove: () => Promise<void>;
}) {
  return (
    <>
      <Section title="Details" id="agent-details">
        <AgentForm
          agent={current}
          idPrefix="agent"
          submitLabel="Save agent"
          onSubmit={save}
          extraActions={
            <ConfirmButton
              label="Delete agent"
              question="Delete this agent and its webhook?"
              confirmLabel="Delete agent"
              onConfirm={remove}
            />
          }
        />
        <AgentConfigStatus agent={current} />
      </Section>
      <AgentWebhookSection agentId={agentId} />
      <Section
        title="Recent test runs"
        id="agent-runs"
        actions={<Link to={withQuery('/runs', { agent_id: agentId })}>All runs of this agent</Link>}
      >
        <AgentRuns agentId={agentId} />
      </Section>
    </>
  );
}

type Scope = 'own' | 'org' | 'blocked' | 'none';

const systemDisabled = (w: Webhook | null) =>
  w?.disabled_reason === 'gone' || w?.disabled_reason === 'failing';

/**
 * docs/delivery.md#which-webhook-receives-an-event: the agent's own webhook if it exists and is
 * enabled, else the org's if enabled, else none — but a webhook the system turned off is never
 * routed around: runs are recorded as failed deliveries to it.
 */
function scopeOf(own: Webhook | null, org: Webhook | null): Scope {
  if (own?.is_enabled) return 'own';
  if (systemDisabled(own)) return 'blocked';
  if (org?.is_enabled) return 'org';
  if (systemDisabled(org)) return 'blocked';
  return 'none';
}

function ScopeNotice({ own, org }: { own: Webhook | null; org: Webhook | null }) {
  const scope = scopeOf(own, org);
  let text: ReactNode;
  if (scope === 'own') {
    text = (
      <>
        <strong>This agent uses its own webhook.</strong> Its runs are delivered to{' '}
        <span className="mono break">{own!.url}</span>, not to the organization webhook.
      </>
    );
  } else if (scope === 'org') {
    text = (
      <>
        <strong>This agent falls back to the organization webhook</strong>
        {own ? ' because its own webhook is turned off' : ' because it has no webhook of its own'}. Its runs
        are delivered to <span className="mono break">{org!.url}</span> (
        <Link to="/settings/webhooks">organization settings</Link>).
      </>
    );
  } else if (scope === 'blocked') {
    const which = systemDisabled(own) ? 'Its own webhook' : 'The organization webhook';
    text = (
      <>
        <strong>Runs of this agent are not being delivered.</strong> {which} was disabled by Runhook because
        its endpoint stopped accepting deliveries. Each run is recorded as a failed delivery (not sent to
        another webhook) and can be resent once the endpoint works again.
      </>
    );
  } else {
    text = (
      <>
        <strong>Runs of this agent are not delivered anywhere.</strong>{' '}
        {own ? 'Its own webhook is turned off' : 'It has no webhook of its own'} and the organization webhook
        is {org ? 'turned off' : 'not set up'} (<Link to="/settings/webhooks">organization settings</Link>).
      </>
    );
  }
  return (
    <div className={`scope scope-${scope}`} data-testid="webhook-scope" data-scope={scope}>
      {text}
    </div>
  );
}

function AgentWebhookSection({ agentId }: { agentId: string }) {
  const loaded = useLoad(`agent-webhook:${agentId}`, async (signal) => {
    const [own, org] = await Promise.all([findAgentWebhook(agentId, signal), findOrgWebhook(signal)]);
    return { own, org };
  });
  const editing = useWebhookEditing(loaded.data?.own);
  const own = editing.webhook;
  const org = loaded.data?.org ?? null;

  return (
    <>
      <Section
        title="Webhook"
        id="agent-webhook"
        actions={
          own ? (
            <>
              <HealthBadge webhook={own} />
              <EnabledBadge enabled={own.is_enabled} on="notifications on" off="notifications off" />
            </>
          ) : null
        }
      >
        {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
        {own === undefined ? (
          loaded.error ? null : (
            <Loading />
          )
        ) : (
          <>
            <ScopeNotice own={own} org={org} />
            <WebhookEditor
              editing={editing}
              agentId={agentId}
              deleteLabel="Remove agent webhook"
              emptyText="To override the organization webhook for this agent, fill in an endpoint and save."
              fallsBack={org?.is_enabled === true}
            />
            {own ? (
              <div className="subsection">
                <h3>Last 24 hours</h3>
                <DeliveryChart webhookId={own.id} refreshKey={editing.tests} />
              </div>
            ) : null}
          </>
        )}
      </Section>
      {own !== undefined ? <ScopeWebhooks agentId={agentId} primaryId={own?.id ?? null} /> : null}
    </>
  );
}

function AgentRuns({ agentId }: { agentId: string }) {
  const path = withQuery('/runs', { agent_id: agentId, limit: 10 });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { runs: TestRun[] }>(path, signal));
  if (loaded.error) return <ErrorBanner error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  if (loaded.data.runs.length === 0) return <Empty>No test runs for this agent yet.</Empty>;
  return <RunsTable runs={loaded.data.runs} caption="Recent test runs of this agent" showAgent={false} />;
}
