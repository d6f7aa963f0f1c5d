import { formatDuration, formatPercent } from '../format';
import { Link } from '../router';
import type { TestRun } from '../types';
import { StatusBadge } from './Badges';
import { Time } from './Time';

const FINAL = ['completed', 'failed', 'canceled'];

export function PassRate({ run, counts = false }: { run: TestRun; counts?: boolean }) {
  const total = run.total_scenarios;
  const pct = (n: number) => (total > 0 ? (n / total) * 100 : 0);
  if (!FINAL.includes(run.status) && total === 0) return <span className="muted">—</span>;
  const title = `${run.passed_count} passed, ${run.failed_count} failed, ${run.error_count} errors of ${total}`;
  return (
    <span className="pass-rate" title={title}>
      <span className="pass-rate-bar" aria-hidden="true">
        <span className="seg seg-ok" style={{ width: `${pct(run.passed_count)}%` }} />
        <span className="seg seg-bad" style={{ width: `${pct(run.failed_count)}%` }} />
        <span className="seg seg-warn" style={{ width: `${pct(run.error_count)}%` }} />
      </span>
      <span className="pass-rate-text">{formatPercent(run.pass_rate)}</span>
      {counts ? (
        <span className="pass-rate-counts muted">
          {run.passed_count}/{total}
          {run.error_count ? <span className="text-warn"> · {run.error_count} err</span> : null}
        </span>
      ) : null}
    </span>
  );
}

export function RunsTable({
  runs,
  caption,
  showAgent = true,
}: {
  runs: TestRun[];
  caption: string;
  showAgent?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="runs-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Name</th>
            {showAgent ? <th scope="col">Agent</th> : null}
            <th scope="col">Status</th>
            <th scope="col">Pass rate</th>
            <th scope="col">Started</th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="run-row" data-run-id={run.id}>
              <td>
                <Link to={`/runs/${run.id}`} className="mono">
                  {run.test_run_id}
                </Link>
              </td>
              <td>{run.name || <span className="muted">(unnamed)</span>}</td>
              {showAgent ? (
                <td>
                  <Link to={`/agents/${run.agent_id}`}>{run.agent_name}</Link>
                </td>
              ) : null}
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>
                <PassRate run={run} counts />
              </td>
              <td>
                <Time iso={run.started_at ?? run.created_at} />
              </td>
              <td className="num">{formatDuration(run.duration_seconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
