import type { ReactNode } from 'react';
import { ApiError } from '../api';

export function ErrorBanner({ error, children }: { error?: unknown; children?: ReactNode }) {
  if (!error && !children) return null;
  const message = children ?? (error instanceof Error ? error.message : String(error));
  const code = error instanceof ApiError && error.status !== 0 ? error.code : null;
  return (
    <div className="banner banner-error" role="alert">
      <span>{message}</span>
      {code ? <span className="banner-code">{code}</span> : null}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A polite live region: announces "Saved" and similar without moving focus. */
export function StatusMessage({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <span className="status-message" role="status" data-testid={testId}>
      {children}
    </span>
  );
}
