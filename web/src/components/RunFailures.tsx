import type { TestFailure, TestRun } from '../types';

/**
 * The failing tests a run was reported with (docs/api.md, "Failures"): what failed, where, and
 * why, so nobody has to open the CI log to find out.
 */
export function RunFailures({ run }: { run: TestRun }) {
  const failures = run.failures ?? [];
  const failing = run.failed_count + run.error_count;
  if (failures.length === 0) {
    return (
      <p className="muted" data-testid="failures-none">
        {failing === 0
          ? 'No test failed in this run.'
          : `${failing} failed or errored, but the run was reported without the names of the failing tests.`}
      </p>
    );
  }
  return (
    <>
      <p data-testid="failures-summary">
        {failures.length === 1 ? '1 failing test' : `${failures.length} failing tests`}
        {failing > failures.length
          ? ` listed of ${failing} failed or errored (a run keeps at most 50).`
          : '.'}
      </p>
      <ol className="failures" data-testid="failures">
        {failures.map((failure, index) => (
          // Failures have no id and may repeat a name; their order is fixed.
          // biome-ignore lint/suspicious/noArrayIndexKey: the list never reorders
          <FailureItem key={index} failure={failure} />
        ))}
      </ol>
    </>
  );
}

function FailureItem({ failure }: { failure: TestFailure }) {
  const where = [failure.classname, failure.file].filter((part): part is string => !!part).join(' · ');
  return (
    <li className="failure" data-testid="failure">
      <div className="failure-head">
        <span className={`badge ${failure.kind === 'error' ? 'badge-warn' : 'badge-bad'}`}>
          {failure.kind === 'error' ? 'error' : 'failed'}
        </span>{' '}
        <span className="failure-name" data-testid="failure-name">
          {failure.name}
        </span>
      </div>
      {where ? (
        <div className="mono small muted" data-testid="failure-where">
          {where}
        </div>
      ) : null}
      {failure.message ? (
        <pre className="code failure-message" data-testid="failure-message">
          {failure.message}
        </pre>
      ) : null}
    </li>
  );
}
