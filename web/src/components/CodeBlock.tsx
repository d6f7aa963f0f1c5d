import { useState } from 'react';
import { copyText } from '../clipboard';
import { prettyBody } from '../format';
import { StatusMessage } from './Feedback';

/** A scrollable block of code; JSON is indented unless `asIs`. */
export function CodeBlock({
  text,
  label,
  testId,
  asIs = false,
}: {
  text: string;
  label: string;
  testId?: string;
  asIs?: boolean;
}) {
  if (!text) return <p className="muted small">(empty body)</p>;
  return (
    // A scrollable region must be reachable by keyboard, so it takes focus and has a name.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable code needs keyboard access.
    <section className="code" tabIndex={0} aria-label={label}>
      <pre data-testid={testId}>{asIs ? text : prettyBody(text)}</pre>
    </section>
  );
}

/**
 * A request or response body: formatted for reading, or raw — the exact text that was sent, the
 * one a signature is computed over. Copy always copies the raw text, so a body pasted into a
 * receiver's test verifies against the attempt's signature headers.
 */
export function BodyView({ body, label, testId }: { body: string; label: string; testId?: string }) {
  const [view, setView] = useState<'formatted' | 'raw'>('formatted');
  const [copied, setCopied] = useState<boolean | null>(null);
  if (!body) return <p className="muted small">(empty body)</p>;
  const pretty = prettyBody(body);
  const shown = view === 'raw' ? body : pretty;
  const bytes = new TextEncoder().encode(body).length;
  return (
    <div className="body-view" data-view={view}>
      <div className="body-toolbar">
        {pretty !== body ? (
          // biome-ignore lint/a11y/useSemanticElements: a toolbar of two toggle buttons, not a form group.
          <div className="toggle-group" role="group" aria-label={`${label}: view`}>
            <button
              type="button"
              className="toggle"
              aria-pressed={view === 'formatted'}
              onClick={() => setView('formatted')}
            >
              Formatted
            </button>
            <button
              type="button"
              className="toggle"
              aria-pressed={view === 'raw'}
              onClick={() => setView('raw')}
            >
              Raw (as sent)
            </button>
          </div>
        ) : (
          <span className="muted small">Raw (as sent)</span>
        )}
        <span className="muted small">{bytes.toLocaleString('en')} bytes</span>
        <button
          type="button"
          className="button button-small"
          aria-label={`Copy raw: ${label}, exactly as sent`}
          onClick={async () => setCopied(await copyText(body))}
        >
          Copy raw
        </button>
        {copied === true ? <StatusMessage>Copied, byte for byte.</StatusMessage> : null}
        {copied === false ? (
          <StatusMessage>Could not copy; switch to Raw and select the text.</StatusMessage>
        ) : null}
      </div>
      <CodeBlock text={shown} label={`${label} (${view})`} testId={testId} asIs />
    </div>
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
