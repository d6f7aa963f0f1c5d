import { api } from '../api';
import { StatusBadge } from '../components/Badges';
import { DeliveriesTable } from '../components/DeliveriesTable';
import { Empty, ErrorBanner, Loading } from '../components/Feedback';
import { Page, Section } from '../components/Page';
import { RunFailures } from '../components/RunFailures';
import { PassRate } from '../components/RunsTable';
import { ScenarioList } from '../components/ScenarioList';
import { Time } from '../components/Time';
import { WhatChanged } from '../components/WhatChanged';
import { formatDuration } from '../format';
import { listAllAgents, listAllWebhooks, webhookLabel } from '../queries';
import { Link } from '../router';
import { findRunDeliveries } from '../runDeliveries';
import type { RunResults, TestRun } from '../types';
import { useLoad } from '../useApi';

const FINAL = ['completed', 'failed', 'canceled'];

export function RunPage({ runId }: { runId: string }) {
  const loaded = useLoad(`run:${runId}`, (signal) =>
    api.get<TestRun>(`/runs/${encodeURIComponent(runId)}`, signal),
  );
  const run = loaded.data;
  // Whether the run carries scenario results, and how they add up (GET /runs/{id}/results).
  const results = useLoad(run ? `run-results:${run.id}` : null, (signal) =>
    api.get<RunResults>(`/runs/${encodeURIComponent(run!.id)}/results`, signal),
  );

  if (loaded.error) {
    return (
      <Page title="Test run">
        <ErrorBanner error={loaded.error} />
        <p>
          <Link to="/runs">Back to test runs</Link>
        </p>
      </Page>
    );
  }
  if (!run) {
    return (
      <Page title="Test run">
        <Loading />
      </Page>
    );
  }

  return (
    <Page
      title={`${run.test_run_id}${run.name ? ` · ${run.name}` : ''}`}
      badge={<StatusBadge status={run.status} />}
      subtitle={
        <>
          <Link to="/runs">Test runs</Link> / {run.test_run_id}
        </>
      }
    >
      <Section title="Results" id="run-results">
        <dl className="facts facts-grid" data-testid="run-facts">
          <div>
            <dt>Agent</dt>
            <dd>
              <Link to={`/agents/${run.agent_id}`}>{run.agent_name}</Link>
            </dd>
          </div>
          <div>
            <dt>Pass rate</dt>
            <dd>
              <PassRate run={run} />
            </dd>
          </div>
          <div>
            <dt>Scenarios</dt>
            <dd>
              <span className="text-ok">{run.passed_count} passed</span> ·{' '}
              <span className="text-bad">{run.failed_count} failed</span> ·{' '}
              <span className="text-warn">{run.error_count} errors</span> · {run.total_scenarios} total
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <Time iso={run.started_at} />
            </dd>
          </div>
          <div>
            <dt>Completed</dt>
            <dd>
              <Time iso={run.completed_at} />
            </dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(run.duration_seconds)}</dd>
          </div>
          {run.test_suite_id !== null ? (
            <div>
              <dt>Test suite</dt>
              <dd data-testid="run-suite" title={run.test_suite_id}>
                {run.test_suite_name ?? <span className="mono small">{run.test_suite_id}</span>}
              </dd>
            </div>
          ) : null}
          <div>
            <dt>Run id</dt>
            <dd className="mono small">{run.id}</dd>
          </div>
        </dl>
      </Section>
      {FINAL.includes(run.status) ? (
        <Section title="What changed" id="run-changes" testId="run-changes">
          <WhatChanged run={run} changes={run.changes ?? null} />
        </Section>
      ) : null}
      {results.error ? <ErrorBanner error={results.error} /> : null}
      {results.data && results.data.total > 0 ? (
        <Section title="Scenarios" id="run-scenarios" testId="run-scenarios">
          <ScenarioSummary results={results.data} />
          <ScenarioList run={run} />
        </Section>
      ) : results.data && FINAL.includes(run.status) ? (
        // A run reported with counts and failures only: its failing tests as they were given.
        <Section title="Failing tests" id="run-failures" testId="run-failures">
          <RunFailures run={run} />
        </Section>
      ) : null}
      <Section title="Webhook deliveries" id="run-deliveries">
        {FINAL.includes(run.status) ? (
          <RunDeliveries run={run} />
        ) : (
          <Empty>
            This run is still {run.status}. Its event is sent when it completes, fails or is canceled.
          </Empty>
        )}
      </Section>
    </Page>
  );
}

function ScenarioSummary({ results }: { results: RunResults }) {
  const s = results.summary;
  return (
    <p data-testid="scenario-summary">
      {results.total} {results.total === 1 ? 'scenario' : 'scenarios'}:{' '}
      <span className="text-ok">{s.passed} passed</span> · <span className="text-bad">{s.failed} failed</span>{' '}
      · <span className="text-warn">{s.error} errors</span> · {s.skipped} skipped
      {s.flaky > 0 ? <> · {s.flaky} flaky</> : null}. Failed first; open one for its message, score and
      criteria.
    </p>
  );
}

function RunDeliveries({ run }: { run: TestRun }) {
  const loaded = useLoad(`run-deliveries:${run.id}`, async (signal) => {
    const [found, webhooks, agents] = await Promise.all([
      findRunDeliveries(run, signal),
      listAllWebhooks(signal),
      listAllAgents(signal),
    ]);
    return {
      found,
      webhooks: new Map(webhooks.map((w) => [w.id, w])),
      agents: new Map(agents.map((a) => [a.id, a])),
    };
  });
  if (loaded.error) return <ErrorBanner error={loaded.error} />;
  if (!loaded.data) return <Loading label="Looking up this run’s deliveries…" />;
  const { found, webhooks, agents } = loaded.data;
  return (
    <>
      {found.deliveries.length === 0 && run.deliveries_expired_at ? (
        <Empty>
          <span data-testid="deliveries-expired">
            This run’s delivery history has expired: it was deleted on{' '}
            <Time iso={run.deliveries_expired_at} />, after the retention period the server keeps
            (RUNHOOK_RETENTION). The run itself is kept.
          </span>
        </Empty>
      ) : found.deliveries.length === 0 ? (
        <Empty>No delivery for this run: no enabled webhook applied when it finished.</Empty>
      ) : (
        <DeliveriesTable
          deliveries={found.deliveries}
          caption="Deliveries of this run"
          webhookName={(id) => webhookLabel(webhooks.get(id), agents)}
        />
      )}
      <p>
        <button type="button" className="button" onClick={loaded.reload}>
          Refresh
        </button>
      </p>
    </>
  );
}
