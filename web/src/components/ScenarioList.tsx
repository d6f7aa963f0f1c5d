import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { CHANGE_LABELS, CHANGE_TONES, STATUS_TONES } from '../changes';
import { formatMs } from '../format';
import { navigate, useLocation, withQuery } from '../router';
import {
  type CriterionResult,
  type ListPage,
  RESULT_CHANGES,
  RESULT_STATUSES,
  type ScenarioRun,
  type TestRun,
} from '../types';
import { useLoad } from '../useApi';
import { Empty, ErrorBanner, Loading } from './Feedback';
import { Pagination } from './Pagination';
import { TestName } from './WhatChanged';
import '../results.css';

const LIMIT = 50;

/**
 * A run's scenario results, failed first (GET /scenario-runs): filtered by status and by change
 * since the baseline, searched by test name or suite on the server, 50 a page. The filters live
 * in the page's query string, so Back and a shared link keep them.
 */
export function ScenarioList({ run }: { run: TestRun }) {
  const { pathname, search } = useLocation();
  const status = search.get('status') ?? '';
  const change = search.get('change') ?? '';
  const q = search.get('q') ?? '';
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const [typed, setTyped] = useState(q);
  const path = withQuery('/scenario-runs', { test_run_id: run.id, status, change, q, limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) =>
    api.get<ListPage & { scenario_runs: ScenarioRun[] }>(path, signal),
  );

  function setFilter(next: { status?: string; change?: string; q?: string; offset?: number }) {
    navigate(
      withQuery(pathname, {
        status: next.status ?? status,
        change: next.change ?? change,
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

  const filtered = Boolean(status || change || q);
  return (
    <>
      <div className="filters">
        <div className="field field-inline">
          <label htmlFor="scenarios-status">Status</label>
          <select
            id="scenarios-status"
            value={status}
            onChange={(e) => setFilter({ status: e.target.value })}
          >
            <option value="">All statuses</option>
            {RESULT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-inline">
          <label htmlFor="scenarios-change">Change</label>
          <select
            id="scenarios-change"
            value={change}
            onChange={(e) => setFilter({ change: e.target.value })}
          >
            <option value="">Any change</option>
            {RESULT_CHANGES.map((c) => (
              <option key={c} value={c}>
                {CHANGE_LABELS[c]}
              </option>
            ))}
          </select>
        </div>
        <search aria-label="Scenarios" className="scenario-search">
          <form className="field field-inline" onSubmit={submit}>
            <label htmlFor="scenarios-q">Name</label>
            <input
              id="scenarios-q"
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
          <Loading label="Loading scenarios…" />
        )
      ) : loaded.data.scenario_runs.length === 0 ? (
        <Empty>{filtered ? 'No scenario matches these filters.' : 'This run has no scenario results.'}</Empty>
      ) : (
        <>
          <ul className="scenarios" data-testid="scenarios" aria-busy={loaded.loading}>
            {loaded.data.scenario_runs.map((s) => (
              <ScenarioItem key={s.id} scenario={s} />
            ))}
          </ul>
          <Pagination
            label="Scenarios"
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

function ScenarioItem({ scenario: s }: { scenario: ScenarioRun }) {
  const hasDetails =
    Boolean(s.error_message) || s.score !== null || (s.criteria_results?.length ?? 0) > 0 || s.attempts > 1;
  const meta = [
    s.score ? `${s.score.points_awarded}/${s.score.max_points} points` : null,
    s.attempts > 1 ? `${s.attempts} attempts` : null,
    s.duration_ms !== null ? formatMs(s.duration_ms) : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const head = (
    <span className="scenario-head">
      <span className={`badge badge-${STATUS_TONES[s.status]}`} data-testid="scenario-status">
        {s.status}
      </span>
      <TestName name={s.scenario_name} suite={s.suite} />
      {s.change !== 'unchanged' ? (
        <span className={`badge badge-aside badge-${CHANGE_TONES[s.change]}`} data-testid="scenario-change">
          {CHANGE_LABELS[s.change]}
        </span>
      ) : null}
      {meta ? <span className="scenario-meta muted small">{meta}</span> : null}
    </span>
  );
  return (
    <li className="scenario" data-testid="scenario" data-status={s.status} data-change={s.change}>
      {hasDetails ? (
        <details>
          <summary>{head}</summary>
          <div className="scenario-body" data-testid="scenario-details">
            {s.error_message ? (
              <pre className="code failure-message" data-testid="scenario-message">
                {s.error_message}
              </pre>
            ) : null}
            <dl className="facts facts-inline">
              {s.score ? (
                <div>
                  <dt>Score</dt>
                  <dd data-testid="scenario-score">
                    {s.score.points_awarded} of {s.score.max_points} points
                  </dd>
                </div>
              ) : null}
              <div>
                <dt>Attempts</dt>
                <dd>{s.attempts}</dd>
              </div>
            </dl>
            {s.criteria_results && s.criteria_results.length > 0 ? (
              <Criteria criteria={s.criteria_results} name={s.scenario_name} />
            ) : null}
          </div>
        </details>
      ) : (
        <div className="scenario-plain">{head}</div>
      )}
    </li>
  );
}

const DECISION_TONES: Record<CriterionResult['decision'], string> = {
  MET: 'ok',
  NOT_MET: 'bad',
  PARTIAL: 'warn',
  UNSURE: 'neutral',
};

function Criteria({ criteria, name }: { criteria: CriterionResult[]; name: string }) {
  return (
    <div className="table-wrap">
      <table className="table criteria" data-testid="criteria">
        <caption className="visually-hidden">Criteria of {name}</caption>
        <thead>
          <tr>
            <th scope="col">Criterion</th>
            <th scope="col">Decision</th>
            <th scope="col" className="num">
              Points
            </th>
            <th scope="col">Rationale</th>
          </tr>
        </thead>
        <tbody>
          {criteria.map((c, index) => (
            // Criteria have no id; their order is fixed.
            // biome-ignore lint/suspicious/noArrayIndexKey: the list never reorders
            <tr key={index} data-testid="criterion">
              <td>{c.criterion}</td>
              <td>
                <span className={`badge badge-${DECISION_TONES[c.decision]}`}>
                  {c.decision.replace('_', ' ')}
                </span>
              </td>
              <td className="num">
                {c.points_awarded ?? '—'}
                {c.max_points !== null && c.max_points !== undefined ? ` / ${c.max_points}` : ''}
              </td>
              <td>{c.rationale ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
