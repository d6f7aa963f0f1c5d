import { type FormEvent, useState } from 'react';
import { ApiError, api, signOut } from '../api';
import { copyText } from '../clipboard';
import { ConfirmButton } from '../components/ConfirmButton';
import { Empty, ErrorBanner, Loading, StatusMessage } from '../components/Feedback';
import { Field } from '../components/Field';
import { Page, Section } from '../components/Page';
import { Pagination } from '../components/Pagination';
import { Time } from '../components/Time';
import { navigate, useLocation, withQuery } from '../router';
import { getApiKey } from '../session';
import type { ApiKey, CreatedApiKey, ListPage } from '../types';
import { useLoad } from '../useApi';

const LIMIT = 20;

/** Whether the key this tab signed in with is the listed one (its visible prefix matches). */
function isCurrentKey(key: ApiKey): boolean {
  const prefix = key.prefix.replace(/[^A-Za-z0-9_]/g, '');
  const mine = getApiKey();
  return Boolean(mine && prefix.length >= 8 && mine.startsWith(prefix));
}

function NewKeyNotice({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <div className="new-key" data-testid="new-key">
      <p>
        <strong>Copy the key “{created.name}” now.</strong> It is shown only this once; Runhook keeps only a
        hash.
      </p>
      <div className="input-with-buttons">
        <label htmlFor="new-key-value" className="visually-hidden">
          New API key
        </label>
        <input
          id="new-key-value"
          className="mono"
          readOnly
          value={created.key}
          onFocus={(e) => e.target.select()}
          data-testid="new-key-value"
        />
        <button
          type="button"
          className="button button-primary"
          onClick={async () => setCopied(await copyText(created.key))}
        >
          Copy
        </button>
        <button type="button" className="button" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === true ? <StatusMessage>Copied to the clipboard.</StatusMessage> : null}
      {copied === false ? (
        <StatusMessage>Could not copy; select the key and copy it by hand.</StatusMessage>
      ) : null}
    </div>
  );
}

export function ApiKeysPage() {
  const { search } = useLocation();
  const offset = Math.max(0, Number(search.get('offset')) || 0);
  const path = withQuery('/api-keys', { limit: LIMIT, offset });
  const loaded = useLoad(path, (signal) => api.get<ListPage & { api_keys: ApiKey[] }>(path, signal));
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setErrors({});
    setFailure(null);
    if (!name.trim()) {
      setErrors({ name: 'Give the key a name, e.g. where it is used.' });
      return;
    }
    const body: Record<string, unknown> = { name: name.trim() };
    if (expires) {
      // The date input is a local calendar day; the key lasts until the end of it.
      const end = new Date(`${expires}T23:59:59`);
      body.expires_at = end.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    setBusy(true);
    try {
      setCreated(await api.post<CreatedApiKey>('/api-keys', body));
      setName('');
      setExpires('');
      loaded.reload();
    } catch (error) {
      setFailure(error);
      if (error instanceof ApiError && error.field) setErrors({ [error.field]: error.message });
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKey) {
    const current = isCurrentKey(key);
    try {
      await api.delete(`/api-keys/${encodeURIComponent(key.id)}`);
    } catch (error) {
      setFailure(error);
      return;
    }
    if (current) signOut();
    else loaded.reload();
  }

  return (
    <Page
      title="API keys"
      subtitle="Keys let CI, scripts and this dashboard use the REST API of your organization."
    >
      <Section title="Create a key" id="create-key">
        {created ? <NewKeyNotice created={created} onDone={() => setCreated(null)} /> : null}
        <form onSubmit={create} noValidate className="inline-form" aria-label="Create API key">
          <ErrorBanner error={failure} />
          <Field id="key-name" label="Name" error={errors.name}>
            {(describedBy, invalid) => (
              <input
                id="key-name"
                value={name}
                maxLength={200}
                placeholder="e.g. GitHub Actions"
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
          <Field
            id="key-expires"
            label="Expires (optional)"
            error={errors.expires_at}
            hint="Leave empty for no expiry."
          >
            {(describedBy, invalid) => (
              <input
                id="key-expires"
                type="date"
                value={expires}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onChange={(e) => setExpires(e.target.value)}
              />
            )}
          </Field>
          <div className="form-actions">
            <button type="submit" className="button button-primary" aria-disabled={busy || undefined}>
              {busy ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </form>
      </Section>
      <Section title="Keys" id="keys">
        {!loaded.data ? (
          loaded.error ? (
            <ErrorBanner error={loaded.error} />
          ) : (
            <Loading />
          )
        ) : loaded.data.api_keys.length === 0 ? (
          <Empty>No keys.</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="api-keys-table">
                <caption className="visually-hidden">API keys</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Key</th>
                    <th scope="col">Created</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.data.api_keys.map((key) => (
                    <tr key={key.id} data-testid="api-key-row">
                      <td>
                        {key.name}
                        {isCurrentKey(key) ? (
                          <span className="badge badge-info badge-aside">this session</span>
                        ) : null}
                      </td>
                      <td className="mono">{key.prefix.replace(/…$/, '')}…</td>
                      <td>
                        <Time iso={key.created_at} />
                      </td>
                      <td>
                        {key.expires_at ? (
                          <Time iso={key.expires_at} />
                        ) : (
                          <span className="muted">never</span>
                        )}
                      </td>
                      <td>
                        <Time iso={key.last_used_at} relative />
                      </td>
                      <td className="actions">
                        <ConfirmButton
                          label="Revoke"
                          ariaLabel={`Revoke key ${key.name}`}
                          question={
                            isCurrentKey(key)
                              ? 'Revoke the key of this session? You will be signed out.'
                              : `Revoke “${key.name}”?`
                          }
                          confirmLabel="Revoke key"
                          onConfirm={() => revoke(key)}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination
              label="API keys"
              total={loaded.data.total}
              limit={LIMIT}
              offset={offset}
              onChange={(o) => navigate(withQuery('/api-keys', { offset: o || null }))}
            />
          </>
        )}
      </Section>
    </Page>
  );
}
