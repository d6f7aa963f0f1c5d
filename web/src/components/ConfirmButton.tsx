import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';

interface ConfirmButtonProps {
  /** Text of the first button, e.g. "Revoke". */
  label: string;
  /** Accessible name when the visible label is ambiguous in a list ("Revoke key CI"). */
  ariaLabel?: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
}

/** A destructive action that asks inline (no window.confirm, which screen readers and tests dislike). */
export function ConfirmButton({
  label,
  ariaLabel,
  question,
  confirmLabel,
  onConfirm,
  disabled,
}: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const questionId = useId();
  const opener = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  useEffect(() => {
    if (!asking && returnFocus.current) {
      returnFocus.current = false;
      opener.current?.focus();
    }
  }, [asking]);
  const cancel = () => {
    returnFocus.current = true;
    setAsking(false);
  };
  // Escape backs out, like closing a dialog.
  const onEscape = (event: KeyboardEvent) => {
    if (event.key === 'Escape') cancel();
  };
  if (!asking) {
    return (
      <button
        type="button"
        ref={opener}
        className="button button-danger-quiet"
        aria-label={ariaLabel}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span className="confirm">
      <span className="confirm-question" id={questionId}>
        {question}
      </span>
      <button
        type="button"
        className="button button-danger"
        aria-describedby={questionId}
        onKeyDown={onEscape}
        // Focusable while busy: a disabled button would drop keyboard focus to the page.
        aria-disabled={busy || undefined}
        // biome-ignore lint/a11y/noAutofocus: focus must follow the question the user just opened.
        autoFocus
        onClick={async () => {
          if (busy) return;
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="button" onClick={cancel} onKeyDown={onEscape}>
        Cancel
      </button>
    </span>
  );
}
