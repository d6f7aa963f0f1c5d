import type { DeliveryStatus, RunStatus } from '../types';

const tone: Record<string, string> = {
  succeeded: 'ok',
  completed: 'ok',
  failed: 'bad',
  canceled: 'neutral',
  pending: 'warn',
  running: 'info',
  grading: 'info',
};

export function StatusBadge({ status }: { status: DeliveryStatus | RunStatus | string }) {
  return (
    <span className={`badge badge-${tone[status] ?? 'neutral'}`} data-testid="status-badge">
      {status}
    </span>
  );
}

/** An HTTP status code, coloured by class; "no answer" when there was none. */
export function HttpStatus({ code, testId }: { code: number | null | undefined; testId?: string }) {
  if (code === null || code === undefined) {
    return (
      <span className="http http-none" data-testid={testId}>
        no answer
      </span>
    );
  }
  const cls = code >= 200 && code < 300 ? 'http-ok' : code >= 300 && code < 400 ? 'http-warn' : 'http-bad';
  return (
    <span className={`http ${cls}`} data-testid={testId}>
      {code}
    </span>
  );
}

export function EnabledBadge({
  enabled,
  on = 'enabled',
  off = 'disabled',
}: {
  enabled: boolean;
  on?: string;
  off?: string;
}) {
  return <span className={`badge ${enabled ? 'badge-ok' : 'badge-neutral'}`}>{enabled ? on : off}</span>;
}
