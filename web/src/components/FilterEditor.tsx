import { describeFilter, FILTER_STATUSES, type FilterDraft, filterOfDraft } from '../webhookFilter';

/** Which finished runs the webhook is sent for: statuses, a pass-rate threshold, or every run. */
export function FilterEditor({
  idPrefix,
  agentScoped,
  draft,
  onChange,
  error,
}: {
  idPrefix: string;
  /** An agent's own webhook: a run it leaves out does not go to the organization webhook. */
  agentScoped: boolean;
  draft: FilterDraft;
  onChange: (draft: FilterDraft) => void;
  error?: string;
}) {
  const parsed = filterOfDraft(draft);
  const errorId = `${idPrefix}-filter-error`;
  return (
    <fieldset className="filter-editor" data-testid="filter-editor">
      <legend>Which runs are sent</legend>
      <div className="filter-row">
        <span>Status:</span>
        {FILTER_STATUSES.map((status) => (
          <label key={status} className="field-checkbox">
            <input
              type="checkbox"
              id={`${idPrefix}-filter-${status}`}
              checked={draft.statuses.includes(status)}
              onChange={(e) =>
                onChange({
                  ...draft,
                  statuses: e.target.checked
                    ? [...draft.statuses, status]
                    : draft.statuses.filter((s) => s !== status),
                })
              }
            />{' '}
            {status}
          </label>
        ))}
        <span className="hint">none ticked: any status</span>
      </div>
      <div className="filter-row">
        <label className="field-checkbox" htmlFor={`${idPrefix}-filter-below-on`}>
          <input
            type="checkbox"
            id={`${idPrefix}-filter-below-on`}
            checked={draft.belowOn}
            onChange={(e) => onChange({ ...draft, belowOn: e.target.checked })}
          />{' '}
          Only when the pass rate is below
        </label>
        <input
          type="number"
          id={`${idPrefix}-filter-below`}
          aria-label="Pass rate threshold (percent)"
          min={0}
          max={100}
          step="any"
          value={draft.below}
          disabled={!draft.belowOn}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          onChange={(e) => onChange({ ...draft, below: e.target.value })}
        />
        <span>%</span>
      </div>
      {error ? (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      ) : null}
      <p className="hint" data-testid="filter-preview">
        Sent for {'filter' in parsed ? describeFilter(parsed.filter) : '…'}. Both conditions set: both must
        hold. A run this webhook leaves out gets no delivery at all
        {agentScoped ? ' (it does not go to the organization webhook instead)' : ''}.
      </p>
    </fieldset>
  );
}
