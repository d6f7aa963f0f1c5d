import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { STATE_TONES } from '../changes';
import { formatPercent } from '../format';
import { Link, navigate, useLocation, withQuery } from '../router';
import { type AgentTest, type ListPage, TEST_STATES } from '../types';
import { useLoad } from '../useApi';
import { Empty, ErrorBanner, Loading } from './Feedback';
import { OutcomeStrip } from './OutcomeStrip';
import { Pagination } from './Pagination';
import { Time } from './Time';

const LIMIT = 25;

/**
 * An agent's tests over their last 20 results (GET /agents/{id}/tests): failing first, then
 * flaky, then passing; each with its outcomes as a strip, and a link to its history.
 */
export function AgentTests({ agentId }: { agentId: string }) {
  const { pathname, search } = useLocation();
  const state = search.get('state') ?? '';
  const q = search.get('q') ?? '';
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const [typed, setTyped] = useState(q);
  const path = withQuery(`/agents/${encodeURIComponent(agentId)}/tests`, { state, q, limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { tests: AgentTest[] }>(path, signal));

  function setFilter(next: { state?: string; q?: string; offset?: number }) {
    navigate(
      withQuery(pathname, {
        tab: 'tests',
        state: next.state ?? state,
        q: next.q ?? q,
        offset: next.offset || null,
      }),
      { replace: next.offset === undefined },
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setFilter({ q: typed.trim() });
  }

  return (
    <>
      <div className="filters">
        <div className="field field-inline">
          <label htmlFor="tests-state">State</label>
          <select id="tests-state" value={state} onChange={(e) => setFilter({ state: e.target.value })}>
            <option value="">All tests</option>
            {TEST_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <search aria-label="Tests" className="scenario-search">
          <form className="field field-inline" onSubmit={submit}>
            <label htmlFor="tests-q">Name</label>
            <input
              id="tests-q"
              type="search"
              value={typed}
              placeholder="Part of a name or suite"
              onChange={(e) => setTyped(e.target.value)}
            />
            <button type="submit" className="button">
              Search
            </button>
          </form>
        </search>
      </div>
      {loaded.error ? <ErrorBanner error={loaded.error} /> : null}
      {!loaded.data ? (
        loaded.error ? null : (
          <Loading label="Loading tests…" />
        )
      ) : loaded.data.tests.length === 0 ? (
        <Empty>
          {state || q
            ? 'No test matches these filters.'
            : 'No tests yet. They appear once a finished run of this agent carries scenario results.'}
        </Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table tests-table" data-testid="tests-table">
              <caption className="visually-hidden">Tests of this agent, failing and flaky first</caption>
              <thead>
                <tr>
                  <th scope="col">Test</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    Last 20 <span className="muted small">(oldest → newest)</span>
                  </th>
                  <th scope="col" className="num">
                    Fail rate
                  </th>
                  <th scope="col" className="num">
                    Flips
                  </th>
                  <th scope="col">Last failure</th>
                </tr>
              </thead>
              <tbody>
                {loaded.data.tests.map((t) => (
                  <tr key={t.id} data-testid="test-row" data-state={t.state}>
                    <td>
                      <Link
                        to={`/agents/${encodeURIComponent(agentId)}/tests/${encodeURIComponent(t.id)}`}
                        className="test-name"
                        data-testid="test-link"
                      >
                        {t.name}
                      </Link>
                      {t.suite ? <div className="muted small suite">{t.suite}</div> : null}
                      <div className="muted small">
                        Last run <Time iso={t.last_run_at} />
                      </div>
                    </td>
                    <td>
                      <span className={`badge badge-${STATE_TONES[t.state]}`} data-testid="test-state">
                        {t.state}
                      </span>
                    </td>
                    <td>
                      <OutcomeStrip recent={t.recent} />
                    </td>
                    <td className="num" data-testid="test-fail-rate">
                      {formatPercent(t.fail_rate)}
                      <div className="muted small">
                        {t.failures} of {t.runs}
                      </div>
                    </td>
                    <td className="num" data-testid="test-flips">
                      {t.flips}
                    </td>
                    <td className="message" data-testid="test-last-failure">
                      {t.last_failure_message ? (
                        truncate(t.last_failure_message, 160)
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pagination
            label="Tests"
            total={loaded.data.total}
            limit={LIMIT}
            offset={offset}
            onChange={(o) => setFilter({ offset: o })}
          />
        </>
      )}
    </>
  );
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
