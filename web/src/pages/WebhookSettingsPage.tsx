import { EnabledBadge } from '../components/Badges';
import { DeliveryChart } from '../components/DeliveryChart';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { ScopeWebhooks } from '../components/ScopeWebhooks';
import { useWebhookEditing, WebhookEditor } from '../components/WebhookEditor';
import { HealthBadge } from '../components/WebhookHealth';
import { findOrgWebhook, listAllAgents, listAllWebhooks } from '../queries';
import { Link } from '../router';
import { useLoad } from '../useApi';

export function WebhookSettingsPage() {
  const loaded = useLoad('org-webhook', (signal) => findOrgWebhook(signal));
  const editing = useWebhookEditing(loaded.data);
  const webhook = editing.webhook;

  return (
    <Page
      title="Webhooks"
      subtitle="The organization’s webhooks receive the events of every agent they are subscribed to, unless an agent has its own enabled webhooks for that event."
    >
      <Section
        title="Organization webhook"
        id="org-webhook"
        actions={
          webhook ? (
            <>
              <HealthBadge webhook={webhook} />
              <EnabledBadge enabled={webhook.is_enabled} on="notifications on" off="notifications off" />
            </>
          ) : null
        }
      >
        {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
        {webhook === undefined && !loaded.error ? <Loading /> : null}
        {webhook !== undefined ? (
          <WebhookEditor
            editing={editing}
            agentId={null}
            deleteLabel="Delete webhook"
            emptyText="No organization webhook yet. Fill in the endpoint and save to create it."
          />
        ) : null}
      </Section>

      {webhook ? (
        <Section title="Last 24 hours" id="org-webhook-chart">
          <DeliveryChart webhookId={webhook.id} refreshKey={editing.tests} />
        </Section>
      ) : null}

      {webhook !== undefined ? <ScopeWebhooks agentId={null} primaryId={webhook?.id ?? null} /> : null}

      <AgentWebhooks />
    </Page>
  );
}

function AgentWebhooks() {
  const loaded = useLoad('agent-webhooks', async (signal) => {
    const [webhooks, agents] = await Promise.all([listAllWebhooks(signal), listAllAgents(signal)]);
    return {
      webhooks: webhooks.filter((w) => w.agent_id !== null),
      agents: new Map(agents.map((a) => [a.id, a])),
    };
  });
  return (
    <Section title="Agent webhooks" id="agent-webhooks">
      <p className="muted">
        An agent’s own webhook overrides the organization webhook for that agent’s runs. Configure it on the
        agent’s page.
      </p>
      {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
      {!loaded.data ? (
        loaded.error ? null : (
          <Loading />
        )
      ) : loaded.data.webhooks.length === 0 ? (
        <Empty>No agent has its own webhook; all runs use the organization webhook.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Agent webhooks</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Endpoint URL</th>
                <th scope="col">Format</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.webhooks.map((w) => (
                <tr key={w.id}>
                  <td>
                    <Link to={`/agents/${w.agent_id}`}>
                      {loaded.data?.agents.get(w.agent_id!)?.name ?? 'Agent'}
                    </Link>
                  </td>
                  <td className="mono break">{w.url}</td>
                  <td>{w.format}</td>
                  <td className="mono">{w.events.join(', ')}</td>
                  <td>
                    <EnabledBadge enabled={w.is_enabled} />
                  </td>
                  <td>
                    <HealthBadge webhook={w} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
