import { useState } from 'react';
import { api, errorMessage } from '../api';
import { formatMs } from '../format';
import { Link } from '../router';
import type { Attempt, DeliveryDetail, WebhookTestResult } from '../types';
import { HttpStatus } from './Badges';
import { CodeBlock, HeadersTable } from './CodeBlock';
import { ErrorBanner } from './Feedback';

interface Outcome {
  result: WebhookTestResult;
  attempt: Attempt | null;
  detailError: string | null;
}

/**
 * Test Webhook: the server sends a signed sample to the saved configuration and waits for the
 * answer; the attempt it logged gives us the receiver's response body.
 */
export function TestWebhookPanel({
  webhookId,
  dirty,
  onTested,
}: {
  webhookId: string | null;
  dirty: boolean;
  onTested?: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  async function run() {
    if (!webhookId || busy) return;
    setBusy(true);
    setFailure(null);
    setOutcome(null);
    try {
      const result = await api.post<WebhookTestResult>(`/webhooks/${encodeURIComponent(webhookId)}/test`);
      let attempt: Attempt | null = null;
      let detailError: string | null = null;
      if (result.delivery_id) {
        try {
          const detail = await api.get<DeliveryDetail>(
            `/deliveries/${encodeURIComponent(result.delivery_id)}`,
          );
          attempt = detail.attempts.reduce<Attempt | null>(
            (latest, a) => (latest === null || a.attempt_number > latest.attempt_number ? a : latest),
            null,
          );
        } catch (error) {
          detailError = errorMessage(error);
        }
      }
      setOutcome({ result, attempt, detailError });
      onTested?.();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  const result = outcome?.result;
  return (
    <div className="test-panel">
      <div className="test-panel-actions">
        <button
          type="button"
          className="button"
          onClick={run}
          disabled={!webhookId}
          // While busy the button stays focusable (a disabled one drops keyboard focus to the page).
          aria-disabled={busy || undefined}
          aria-describedby="test-webhook-hint"
        >
          {busy ? 'Sending test…' : 'Test Webhook'}
        </button>
        <p className="hint" id="test-webhook-hint">
          {!webhookId
            ? 'Save the webhook first, then send a test.'
            : dirty
              ? 'You have unsaved changes: the test uses the saved settings.'
              : 'Sends a signed sample payload now and shows what your endpoint answered.'}
        </p>
      </div>
      <ErrorBanner error={failure} />
      {result ? (
        <div
          className={`test-result ${result.success ? 'test-result-ok' : 'test-result-bad'}`}
          data-testid="test-result"
          role="status"
        >
          <p className="test-result-title" data-testid="test-result-title">
            {result.success ? '✓ Test delivered' : '✗ Test failed'}
            <span className="muted"> — {result.message}</span>
          </p>
          <dl className="facts">
            <div>
              <dt>HTTP status</dt>
              <dd>
                <HttpStatus code={result.http_status} testId="test-http-status" />
              </dd>
            </div>
            <div>
              <dt>Response time</dt>
              <dd data-testid="test-response-time">{formatMs(result.response_time_ms)}</dd>
            </div>
            {result.delivery_id ? (
              <div>
                <dt>Logged as</dt>
                <dd>
                  <Link to={`/deliveries/${result.delivery_id}`}>delivery details</Link>
                </dd>
              </div>
            ) : null}
          </dl>
          {outcome?.attempt?.response ? (
            <>
              <h3 className="h4">Response body</h3>
              <CodeBlock
                text={outcome.attempt.response.body}
                label="Test response body"
                testId="test-response-body"
              />
              <details>
                <summary>Response headers</summary>
                <HeadersTable headers={outcome.attempt.response.headers} caption="Test response headers" />
              </details>
            </>
          ) : outcome?.attempt ? (
            <p className="muted small">
              No response{outcome.attempt.error_class ? ` (${outcome.attempt.error_class})` : ''}
              {outcome.attempt.error_message ? `: ${outcome.attempt.error_message}` : ''}
            </p>
          ) : null}
          {outcome?.detailError ? (
            <p className="muted small">Could not load the response: {outcome.detailError}</p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
