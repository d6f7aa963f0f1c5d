import { useState } from 'react';
import { api } from '../api';
import { ConfiguredBadge } from '../components/AgentConfigStatus';
import { AgentForm, type AgentInput } from '../components/AgentForm';
import { EnabledBadge } from '../components/Badges';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { Time } from '../components/Time';
import { Link, navigate, useLocation, withQuery } from '../router';
import type { Agent, ListPage } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 20;

export function AgentsPage() {
  const { search } = useLocation();
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const [creating, setCreating] = useState(search.get('new') === '1');
  const path = withQuery('/agents', { limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { agents: Agent[] }>(path, signal));

  async function create(input: AgentInput) {
    const agent = await api.post<Agent>('/agents', input);
    navigate(`/agents/${agent.id}`);
  }

  return (
    <Page
      title="Agents"
      subtitle="The things under test. Each agent’s runs go to its own webhook if it has one, else to the organization’s."
      actions={
        creating ? null : (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            New agent
          </button>
        )
      }
    >
      {creating ? (
        <Section
          title="New agent"
          id="new-agent"
          actions={
            <button type="button" className="button button-quiet" onClick={() => setCreating(false)}>
              Cancel
            </button>
          }
        >
          <AgentForm idPrefix="new-agent" submitLabel="Create agent" onSubmit={create} />
        </Section>
      ) : null}
      <Section title="All agents" id="agents">
        {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
        {!loaded.data ? (
          loaded.error ? null : (
            <Loading />
          )
        ) : loaded.data.total === 0 ? (
          <Empty>No agents yet. Create one, or let CI create it through the API.</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="agents-table">
                <caption className="visually-hidden">Agents</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Built with</th>
                    <th scope="col">State</th>
                    <th scope="col">Description</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.data.agents.map((agent) => (
                    <tr key={agent.id}>
                      <td>
                        <Link to={`/agents/${agent.id}`}>{agent.name}</Link>
                      </td>
                      <td>
                        {agent.provider ?? <span className="muted">—</span>} <ConfiguredBadge agent={agent} />
                      </td>
                      <td>
                        <EnabledBadge enabled={agent.is_active} on="active" off="inactive" />
                      </td>
                      <td className="truncate">{agent.description || <span className="muted">—</span>}</td>
                      <td>
                        <Time iso={agent.created_at} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination
              label="Agents"
              total={loaded.data.total}
              limit={LIMIT}
              offset={offset}
              onChange={(next) => navigate(withQuery('/agents', { offset: next || null }))}
            />
          </>
        )}
      </Section>
    </Page>
  );
}
