import { formatDateTime, formatRelative } from '../format';

/** A timestamp in local time, with the exact UTC value on hover and for machines. */
export function Time({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {relative ? formatRelative(iso) : formatDateTime(iso)}
    </time>
  );
}
