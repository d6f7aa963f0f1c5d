interface PaginationProps {
  total: number;
  limit: number;
  offset: number;
  onChange: (offset: number) => void;
  label: string;
}

export function Pagination({ total, limit, offset, onChange, label }: PaginationProps) {
  if (total <= limit && offset === 0) {
    return <p className="pagination-summary muted">{total === 1 ? '1 item' : `${total} items`}</p>;
  }
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav className="pagination" aria-label={`${label} pages`}>
      <span className="pagination-summary" data-testid="pagination-summary">
        {first}–{last} of {total}
      </span>
      <button
        type="button"
        className="button"
        disabled={offset === 0}
        onClick={() => onChange(Math.max(0, offset - limit))}
      >
        Previous
      </button>
      <button
        type="button"
        className="button"
        disabled={offset + limit >= total}
        onClick={() => onChange(offset + limit)}
      >
        Next
      </button>
    </nav>
  );
}
