import { prettyBody } from '../format';

export function CodeBlock({ text, label, testId }: { text: string; label: string; testId?: string }) {
  if (!text) return <p className="muted small">(empty body)</p>;
  return (
    // A scrollable region must be reachable by keyboard, so it takes focus and has a name.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable code needs keyboard access.
    <section className="code" tabIndex={0} aria-label={label}>
      <pre data-testid={testId}>{prettyBody(text)}</pre>
    </section>
  );
}

export function HeadersTable({ headers, caption }: { headers: Record<string, string>; caption: string }) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return <p className="muted small">(no headers)</p>;
  return (
    <table className="kv-table">
      <caption className="visually-hidden">{caption}</caption>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
