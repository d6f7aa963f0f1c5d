import { useEffect, useRef, useState } from 'react';
import { MAX_CUSTOM_HEADERS } from '../types';

export interface HeaderRow {
  key: number;
  name: string;
  value: string;
}

let nextRowKey = 1;

export function headerRows(headers: Record<string, string>): HeaderRow[] {
  return Object.entries(headers).map(([name, value]) => ({ key: nextRowKey++, name, value }));
}

/** Rows → the API's headers object; blank rows are dropped. Returns a message for a bad row. */
export function rowsToHeaders(rows: HeaderRow[]): { headers: Record<string, string> } | { error: string } {
  // No prototype: a row named `__proto__` must reach the server (which refuses it by name), not
  // vanish into the object's prototype.
  const headers: Record<string, string> = Object.create(null);
  const seen = new Set<string>();
  for (const [index, row] of rows.entries()) {
    const name = row.name.trim();
    if (!name && !row.value.trim()) continue;
    if (!name) return { error: `Header ${index + 1} has a value but no name.` };
    if (seen.has(name.toLowerCase())) return { error: `The header ${name} is listed twice.` };
    seen.add(name.toLowerCase());
    headers[name] = row.value;
  }
  return { headers };
}

interface HeadersEditorProps {
  idPrefix: string;
  rows: HeaderRow[];
  onChange: (rows: HeaderRow[]) => void;
  error?: string | undefined;
}

/** Up to ten custom name/value headers; asking for an eleventh is refused with a message. */
export function HeadersEditor({ idPrefix, rows, onChange, error }: HeadersEditorProps) {
  const [limitMessage, setLimitMessage] = useState(false);
  const focusRow = useRef<number | null>(null);
  const focusAdd = useRef(false);
  const addButton = useRef<HTMLButtonElement>(null);
  const container = useRef<HTMLFieldSetElement>(null);

  useEffect(() => {
    if (focusAdd.current) {
      // The removed row's button is gone; keep keyboard users inside the editor.
      addButton.current?.focus();
      focusAdd.current = false;
    }
    if (focusRow.current === null) return;
    const input = container.current?.querySelector<HTMLInputElement>(
      `#${idPrefix}-header-${focusRow.current}-name`,
    );
    input?.focus();
    focusRow.current = null;
  });

  useEffect(() => {
    if (rows.length < MAX_CUSTOM_HEADERS) setLimitMessage(false);
  }, [rows.length]);

  function add() {
    if (rows.length >= MAX_CUSTOM_HEADERS) {
      setLimitMessage(true);
      return;
    }
    const row = { key: nextRowKey++, name: '', value: '' };
    focusRow.current = row.key;
    onChange([...rows, row]);
  }

  function update(key: number, patch: Partial<HeaderRow>) {
    onChange(rows.map((row) => (row.key === key ? { ...row, ...patch } : row)));
  }

  function remove(key: number) {
    focusAdd.current = true;
    onChange(rows.filter((row) => row.key !== key));
  }

  const errorId = error ? `${idPrefix}-headers-error` : undefined;
  return (
    <fieldset
      className={`headers-editor${error ? ' field-invalid' : ''}`}
      ref={container}
      aria-describedby={errorId}
    >
      <legend>
        Custom headers{' '}
        <span className="muted">
          ({rows.length} of {MAX_CUSTOM_HEADERS})
        </span>
      </legend>
      <p className="hint">
        Sent with every delivery, e.g. an <code>Authorization</code> header your endpoint expects. Runhook's
        own headers (<code>Content-Type</code>, <code>webhook-*</code>, <code>X-Runhook-*</code>,{' '}
        <code>X-Clix-*</code>…) cannot be overridden.
      </p>
      {rows.length > 0 ? (
        <div className="header-rows">
          <div className="header-row header-row-labels" aria-hidden="true">
            <span>Name</span>
            <span>Value</span>
            <span />
          </div>
          {rows.map((row, index) => (
            <div className="header-row" key={row.key} data-testid="header-row">
              <input
                id={`${idPrefix}-header-${row.key}-name`}
                aria-label={`Header ${index + 1} name`}
                value={row.name}
                placeholder="X-Team"
                autoComplete="off"
                spellCheck={false}
                maxLength={256}
                onChange={(e) => update(row.key, { name: e.target.value })}
              />
              <input
                aria-label={`Header ${index + 1} value`}
                value={row.value}
                placeholder="value"
                autoComplete="off"
                spellCheck={false}
                maxLength={4096}
                onChange={(e) => update(row.key, { value: e.target.value })}
              />
              <button
                type="button"
                className="button button-icon"
                aria-label={`Remove header ${index + 1}`}
                title="Remove header"
                onClick={() => remove(row.key)}
              >
                ×
              </button>
            </div>
          ))}
        </div>
      ) : null}
      <div className="headers-footer">
        <button type="button" className="button" onClick={add} ref={addButton}>
          Add header
        </button>
        {limitMessage ? (
          <p className="field-error" role="alert" data-testid="headers-limit">
            A webhook can have at most {MAX_CUSTOM_HEADERS} custom headers. Remove one to add another.
          </p>
        ) : null}
      </div>
      {error ? (
        <p className="field-error" id={errorId} data-testid={`${idPrefix}-headers-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
