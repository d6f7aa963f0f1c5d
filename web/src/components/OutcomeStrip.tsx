import type { ResultStatus } from '../types';
import '../results.css';

/**
 * A test's last outcomes as small cells, oldest on the left and the newest on the right (the API
 * gives them newest first). Failed and errored cells are tall, passed and skipped ones short, so
 * the strip reads without colour too; screen readers get the same list as text.
 */
export function OutcomeStrip({ recent }: { recent: ResultStatus[] }) {
  const oldestFirst = [...recent].reverse();
  const text = `Last ${recent.length} ${recent.length === 1 ? 'result' : 'results'}, oldest to newest: ${oldestFirst.join(', ')}`;
  return (
    <span className="strip" data-testid="outcome-strip" title={text}>
      {oldestFirst.map((status, index) => (
        // Positions are the identity here: the list only ever changes as a whole.
        // biome-ignore lint/suspicious/noArrayIndexKey: fixed positions
        <span key={index} className={`strip-cell strip-${status}`} data-status={status} aria-hidden="true" />
      ))}
      <span className="visually-hidden">{text}</span>
    </span>
  );
}
