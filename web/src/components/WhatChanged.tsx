import { api } from '../api';
import { changeSummary, FLAKY_REASONS, signed } from '../changes';
import { formatDuration } from '../format';
import { Link } from '../router';
import type { RunChanges, TestRun } from '../types';
import { useLoad } from '../useApi';

const BASIS: Record<RunChanges['basis'], string> = {
  results: 'Compared test by test, from both runs’ scenario results.',
  failures: 'Compared by the names of the failing tests: one of the runs has no scenario results.',
  none: 'Only the numbers are compared: the failing tests of one of the runs are not named.',
};

/**
 * What changed since the baseline run (docs/api.md#what-changed): against which run, the line a
 * chat message opens with, then the new failures, fixed and flaky tests, the counts and deltas.
 */
export function WhatChanged({ run, changes }: { run: TestRun; changes: RunChanges | null }) {
  if (!changes) {
    return (
      <p className="muted" data-testid="changes-none">
        No baseline: there is no earlier completed or failed run of this agent with the same test suite (or
        name) to compare with.
      </p>
    );
  }
  const c = changes.counts;
  return (
    <div className="changes" data-testid="changes">
      <p data-testid="changes-baseline">
        Against{' '}
        {changes.baseline_test_run_id ? (
          <BaselineLink testRunId={changes.baseline_test_run_id} />
        ) : (
          'the baseline run'
        )}
        . <span className="muted small">{BASIS[changes.basis]}</span>
      </p>
      <p className="changes-summary" data-testid="changes-summary">
        {changeSummary(changes, run.pass_rate)}
      </p>
      <div className="changes-lists">
        {changes.new_failures.length > 0 ? (
          <div className="changes-list" data-testid="changes-new-failures">
            <h3>
              New failures <span className="muted small">({c.new_failures})</span>
            </h3>
            <ul>
              {changes.new_failures.map((t) => (
                <li key={`${t.suite ?? ''}\u0000${t.name}`} data-testid="change-item">
                  <TestName name={t.name} suite={t.suite} />
                  {t.message ? <pre className="code change-message">{t.message}</pre> : null}
                </li>
              ))}
            </ul>
            <More shown={changes.new_failures.length} total={c.new_failures} />
          </div>
        ) : null}
        {changes.fixed.length > 0 ? (
          <div className="changes-list" data-testid="changes-fixed">
            <h3>
              Fixed <span className="muted small">({c.fixed})</span>
            </h3>
            <ul>
              {changes.fixed.map((t) => (
                <li key={`${t.suite ?? ''}\u0000${t.name}`} data-testid="change-item">
                  <TestName name={t.name} suite={t.suite} />
                </li>
              ))}
            </ul>
            <More shown={changes.fixed.length} total={c.fixed} />
          </div>
        ) : null}
        {changes.flaky.length > 0 ? (
          <div className="changes-list" data-testid="changes-flaky">
            <h3>
              Flaky <span className="muted small">({c.flaky})</span>
            </h3>
            <ul>
              {changes.flaky.map((t) => (
                <li key={`${t.suite ?? ''}\u0000${t.name}`} data-testid="change-item">
                  <TestName name={t.name} suite={t.suite} />
                  {' — '}
                  <span className="muted small" data-testid="flaky-reason">
                    {FLAKY_REASONS[t.reason]}
                  </span>
                </li>
              ))}
            </ul>
            <More shown={changes.flaky.length} total={c.flaky} />
          </div>
        ) : null}
      </div>
      <dl className="facts facts-grid" data-testid="changes-counts">
        <Fact label="New failures" value={String(c.new_failures)} />
        <Fact label="Fixed" value={String(c.fixed)} />
        <Fact label="Still failing" value={String(c.still_failing)} />
        <Fact label="Flaky" value={String(c.flaky)} />
        <Fact label="New tests" value={String(c.new_tests)} />
        <Fact label="Missing tests" value={String(c.missing_tests)} />
        <Fact label="Pass rate" value={`${run.pass_rate} % (${signed(changes.pass_rate_delta)} points)`} />
        <Fact label="Duration" value={durationDelta(run.duration_seconds, changes.duration_delta_seconds)} />
        {changes.score_delta !== null ? (
          <Fact
            label="Score"
            value={`${run.score ?? '—'}${run.score === null || run.score === undefined ? '' : ' %'} (${signed(changes.score_delta)} points)`}
          />
        ) : null}
      </dl>
    </div>
  );
}

function durationDelta(seconds: number | null, delta: number): string {
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  return `${formatDuration(seconds)} (${sign}${formatDuration(Math.abs(delta))})`;
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid="changes-count">{value}</dd>
    </div>
  );
}

function More({ shown, total }: { shown: number; total: number }) {
  if (total <= shown) return null;
  return (
    <p className="muted small">
      The first {shown} of {total}; filter the scenarios below to see them all.
    </p>
  );
}

export function TestName({ name, suite }: { name: string; suite: string | null }) {
  return (
    <span className="test-name">
      <span data-testid="test-name">{name}</span>
      {suite ? <span className="muted small mono"> · {suite}</span> : null}
    </span>
  );
}

/** The baseline's TR- id, linked to its page once its UUID is known (GET /runs/TR-… takes TR- ids). */
function BaselineLink({ testRunId }: { testRunId: string }) {
  const found = useLoad(`run:${testRunId}`, (signal) =>
    api.get<TestRun>(`/runs/${encodeURIComponent(testRunId)}`, signal),
  );
  const to = found.data ? `/runs/${found.data.id}` : `/runs/${encodeURIComponent(testRunId)}`;
  return (
    <Link to={to} className="mono" data-testid="baseline-link">
      {testRunId}
    </Link>
  );
}
