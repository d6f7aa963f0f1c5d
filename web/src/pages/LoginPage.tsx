import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, apiRequest } from '../api';
import { ErrorBanner } from '../components/Feedback';
import { navigate, useLocation } from '../router';
import { setApiKey } from '../session';

/** Only same-site paths may be a post-sign-in destination. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function LoginPage() {
  const { search } = useLocation();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const expired = search.get('reason') === 'expired';

  useEffect(() => {
    document.title = 'Sign in · Runhook';
    input.current?.focus();
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = key.trim();
    if (!value) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // Any authenticated read proves the key; nothing is stored until it works.
      await apiRequest('GET', '/agents?limit=1', { apiKey: value });
      setApiKey(value);
      navigate(safeNext(search.get('next')), { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        setError('This API key was not accepted. Check it and try again.');
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login" id="main">
      <div className="login-card">
        <p className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            ↪
          </span>
          Runhook
        </p>
        <h1>Sign in</h1>
        <p className="muted">
          Use an API key of your organization (<code>sk_live_…</code>). It is kept in this browser tab only
          and forgotten when you sign out or close the tab.
        </p>
        {expired && !error ? (
          <div className="banner banner-info" role="status">
            Your session ended: the API key was not accepted any more. Sign in again.
          </div>
        ) : null}
        <form onSubmit={submit} noValidate>
          <ErrorBanner>{error}</ErrorBanner>
          <div className="field">
            <label htmlFor="api-key">API key</label>
            <input
              id="api-key"
              ref={input}
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder="sk_live_…"
              value={key}
              aria-describedby="api-key-hint"
              aria-invalid={error ? true : undefined}
              onChange={(e) => setKey(e.target.value)}
            />
            <p className="hint" id="api-key-hint">
              <code>runhook serve</code> prints a key on first start;{' '}
              <code>runhook orgs create --name N</code> makes another organization with its own key.
            </p>
          </div>
          <button type="submit" className="button button-primary button-wide" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
