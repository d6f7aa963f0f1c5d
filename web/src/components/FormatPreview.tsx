import { useMemo } from 'react';
// The dashboard renders the preview with the very code the worker uses for real deliveries
// (src/domain/payloads.ts, bundled by Vite), so what it shows is what the endpoint receives.
import { renderBody, testPayload } from '../../../src/domain/payloads';
import type { WebhookFormat } from '../../../src/domain/types';

/** The body a webhook of `format` receives for the sample run that Test Webhook sends. */
export function FormatPreview({ format, id }: { format: WebhookFormat; id: string }) {
  const body = useMemo(() => {
    const now = Date.now();
    const raw = renderBody(format, testPayload(now, window.location.origin), now);
    try {
      return JSON.stringify(JSON.parse(raw), null, 2);
    } catch {
      return raw;
    }
  }, [format]);
  return (
    <details className="format-preview-box" open>
      <summary>Preview: the sample run in this format</summary>
      <p className="hint" id={`${id}-hint`}>
        The request body a <strong>{format}</strong> webhook receives for the sample run that Test Webhook
        sends (its results link points at this dashboard).
      </p>
      <pre
        className="code format-preview"
        id={id}
        data-testid="format-preview"
        data-format={format}
        aria-describedby={`${id}-hint`}
        // A scrollable region must be reachable by keyboard.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable preview
        tabIndex={0}
      >
        {body}
      </pre>
    </details>
  );
}
