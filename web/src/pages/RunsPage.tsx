import { api } from '../api';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { RunsTable } from '../components/RunsTable';
import { listAllAgents } from '../queries';
import { navigate, useLocation, withQuery } from '../router';
import { type ListPage, RUN_STATUSES, type TestRun } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 20;

export function RunsPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const agentId = search.get('agent_id') ?? '';
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const path = withQuery('/runs', { status, agent_id: agentId, limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { runs: TestRun[] }>(path, signal));
  const agents = useLoad('agents:all', (signal) => listAllAgents(signal));

  function setFilter(next: { status?: string; agent_id?: string; offset?: number }) {
    navigate(
      withQuery('/runs', {
        status: next.status ?? status,
        agent_id: next.agent_id ?? agentId,
        offset: next.offset || null,
      }),
      { replace: next.offset === undefined },
    );
  }

  return (
    <Page
      title="Test runs"
      subtitle="Each finished run fires one event, delivered to the agent’s webhook or the organization’s."
    >
      <Section title="Runs" id="runs">
        <fieldset className="filters">
          <legend className="visually-hidden">Filter runs</legend>
          <div className="field field-inline">
            <label htmlFor="runs-status">Status</label>
            <select id="runs-status" value={status} onChange={(e) => setFilter({ status: e.target.value })}>
              <option value="">All statuses</option>
              {RUN_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div className="field field-inline">
            <label htmlFor="runs-agent">Agent</label>
            <select id="runs-agent" value={agentId} onChange={(e) => setFilter({ agent_id: e.target.value })}>
              <option value="">All agents</option>
              {(agents.data ?? []).map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
              {agentId && agents.data && !agents.data.some((a) => a.id === agentId) ? (
                <option value={agentId}>Unknown agent</option>
              ) : null}
            </select>
          </div>
        </fieldset>
        {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
        {!loaded.data ? (
          loaded.error ? null : (
            <Loading />
          )
        ) : loaded.data.runs.length === 0 ? (
          <Empty>
            {status || agentId
              ? 'No runs match these filters.'
              : 'No test runs yet. Report one with POST /api/v1/runs from your CI.'}
          </Empty>
        ) : (
          <>
            <RunsTable runs={loaded.data.runs} caption="Test runs" />
            <Pagination
              label="Runs"
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
