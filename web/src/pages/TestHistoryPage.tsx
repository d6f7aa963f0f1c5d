import { api } from '../api';
import { CHANGE_LABELS, CHANGE_TONES, STATE_TONES, STATUS_TONES } from '../changes';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { OutcomeStrip } from '../components/OutcomeStrip';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { Time } from '../components/Time';
import { formatMs, formatPercent } from '../format';
import { Link, navigate, useLocation, withQuery } from '../router';
import type { Agent, TestHistory } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 25;

/** One test of an agent: its state over its last 20 results, and every stored result, newest first. */
export function TestHistoryPage({ agentId, testId }: { agentId: string; testId: string }) {
  const { pathname, search } = useLocation();
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const agentPath = `/agents/${encodeURIComponent(agentId)}`;
  const path = withQuery(`${agentPath}/tests/${encodeURIComponent(testId)}/history`, {
    limit: LIMIT,
    offset,
  });
  const loaded = useLoad(path, (signal) => api.get<TestHistory>(path, signal));
  const agent = useLoad(`agent:${agentId}`, (signal) => api.get<Agent>(agentPath, signal));
  const testsTab = withQuery(agentPath, { tab: 'tests' });

  if (loaded.error && !loaded.data) {
    return (
      <Page title="Test">
        <ErrorBanner error={loaded.error} />
        <p>
          <Link to={testsTab}>Back to the agent’s tests</Link>
        </p>
      </Page>
    );
  }
  if (!loaded.data) {
    return (
      <Page title="Test">
        <Loading />
      </Page>
    );
  }
  const { test, results, total } = loaded.data;
  return (
    <Page
      title={test.name}
      badge={<span className={`badge badge-${STATE_TONES[test.state]}`}>{test.state}</span>}
      subtitle={
        <>
          <Link to="/agents">Agents</Link> / <Link to={agentPath}>{agent.data?.name ?? 'Agent'}</Link> /{' '}
          <Link to={testsTab}>Tests</Link> / {test.name}
        </>
      }
    >
      <Section title="Last 20 results" id="test-summary">
        <dl className="facts facts-grid" data-testid="test-facts">
          <div>
            <dt>Suite</dt>
            <dd className="mono">{test.suite ?? '—'}</dd>
          </div>
          <div>
            <dt>Outcomes (oldest → newest)</dt>
            <dd>
              <OutcomeStrip recent={test.recent} />
            </dd>
          </div>
          <div>
            <dt>Fail rate</dt>
            <dd data-testid="history-fail-rate">
              {formatPercent(test.fail_rate)} ({test.failures} of {test.runs})
            </dd>
          </div>
          <div>
            <dt>Flips in its last 10 runs</dt>
            <dd data-testid="history-flips">{test.flips}</dd>
          </div>
          <div>
            <dt>Last run</dt>
            <dd>
              <Time iso={test.last_run_at} />
            </dd>
          </div>
        </dl>
        {test.last_failure_message ? (
          <>
            <h3 className="last-failure-heading">Last failure</h3>
            <pre className="code failure-message">{test.last_failure_message}</pre>
          </>
        ) : null}
      </Section>
      <Section title="Results across runs" id="test-history">
        {results.length === 0 ? (
          <Empty>No stored result: older ones are deleted after the results retention period.</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="history-table">
                <caption className="visually-hidden">Results of {test.name}, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Status</th>
                    <th scope="col">Change</th>
                    <th scope="col" className="num">
                      Duration
                    </th>
                    <th scope="col">Completed</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {results.map((r) => (
                    <tr key={r.id} data-testid="history-row">
                      <td>
                        <Link to={`/runs/${r.run_id}`} className="mono" data-testid="history-run">
                          {r.test_run_id}
                        </Link>
                      </td>
                      <td>
                        <span
                          className={`badge badge-${STATUS_TONES[r.status]}`}
                          data-testid="history-status"
                        >
                          {r.status}
                        </span>
                        {r.attempts > 1 ? (
                          <span className="muted small"> ({r.attempts} attempts)</span>
                        ) : null}
                      </td>
                      <td>
                        <span className={`badge badge-${CHANGE_TONES[r.change]}`}>
                          {CHANGE_LABELS[r.change]}
                        </span>
                      </td>
                      <td className="num">{formatMs(r.duration_ms)}</td>
                      <td>
                        <Time iso={r.completed_at ?? r.created_at} />
                      </td>
                      <td className="message small">{r.error_message ?? <span className="muted">—</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination
              label="Results"
              total={total}
              limit={LIMIT}
              offset={offset}
              onChange={(o) => navigate(withQuery(pathname, { offset: o || null }))}
            />
          </>
        )}
      </Section>
    </Page>
  );
}
