import { useEffect, useRef, useState } from 'react';

/** keep: leave the stored secret alone; set: send `value`; clear: send null. */
export type SecretChange = { mode: 'keep' } | { mode: 'set'; value: string } | { mode: 'clear' };

interface SecretFieldProps {
  idPrefix: string;
  hasSecret: boolean;
  change: SecretChange;
  onChange: (change: SecretChange) => void;
  error?: string | undefined;
}

function generateSecret(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const HINT =
  '8–256 characters. A whsec_… secret is used as base64 key bytes (Standard Webhooks); any other text as its UTF-8 bytes. It is never shown again after saving.';

/** The signing secret is write-only: the dashboard only knows whether one is set. */
export function SecretField({ idPrefix, hasSecret, change, onChange, error }: SecretFieldProps) {
  const [visible, setVisible] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const replacing = hasSecret && change.mode === 'set';
  // "Replace secret" swaps the buttons for an input: put the caret there.
  useEffect(() => {
    if (replacing) input.current?.focus();
  }, [replacing]);
  const id = `${idPrefix}-secret`;
  const errorId = error ? `${id}-error` : undefined;

  if (hasSecret && change.mode === 'keep') {
    return (
      <fieldset className={`field${error ? ' field-invalid' : ''}`}>
        <legend className="label">Signing secret</legend>
        <div className="secret-state">
          <span className="badge badge-ok" data-testid="secret-state">
            set
          </span>
          <span className="muted small">Deliveries are signed. The value is never shown.</span>
          <button type="button" className="button" onClick={() => onChange({ mode: 'set', value: '' })}>
            Replace secret
          </button>
          <button
            type="button"
            className="button button-danger-quiet"
            onClick={() => onChange({ mode: 'clear' })}
          >
            Clear secret
          </button>
        </div>
        {error ? (
          <p className="field-error" id={errorId}>
            {error}
          </p>
        ) : null}
      </fieldset>
    );
  }

  if (change.mode === 'clear') {
    return (
      <fieldset className="field">
        <legend className="label">Signing secret</legend>
        <div className="secret-state">
          <span className="badge badge-warn" data-testid="secret-state">
            will be cleared
          </span>
          <span className="muted small">Deliveries will be unsigned after you save.</span>
          <button type="button" className="button" onClick={() => onChange({ mode: 'keep' })}>
            Undo
          </button>
        </div>
      </fieldset>
    );
  }

  const value = change.mode === 'set' ? change.value : '';
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{hasSecret ? 'New signing secret' : 'Signing secret (optional)'}</label>
      <div className="input-with-buttons">
        <input
          id={id}
          ref={input}
          type={visible ? 'text' : 'password'}
          value={value}
          autoComplete="new-password"
          spellCheck={false}
          maxLength={256}
          aria-invalid={error ? true : undefined}
          aria-describedby={[`${id}-hint`, errorId].filter(Boolean).join(' ')}
          onChange={(e) =>
            onChange(e.target.value || hasSecret ? { mode: 'set', value: e.target.value } : { mode: 'keep' })
          }
        />
        <button type="button" className="button" aria-pressed={visible} onClick={() => setVisible((v) => !v)}>
          {visible ? 'Hide' : 'Show'}
        </button>
        <button
          type="button"
          className="button"
          onClick={() => {
            onChange({ mode: 'set', value: generateSecret() });
            setVisible(true);
          }}
        >
          Generate
        </button>
        {hasSecret ? (
          <button type="button" className="button" onClick={() => onChange({ mode: 'keep' })}>
            Keep current
          </button>
        ) : null}
      </div>
      <p className="hint" id={`${id}-hint`}>
        {HINT}
      </p>
      {error ? (
        <p className="field-error" id={errorId} data-testid={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
