/**
 * Headers on every response Runhook's HTTP server sends: API answers, errors (the framework's own
 * included), the dashboard, /docs, /openapi.json and /metrics. See docs/api.md "Security headers".
 *
 * The policy allows only Runhook's own origin: the dashboard and the API documentation load their
 * scripts and styles from files under the same origin, never inline. `data:` images are allowed
 * for the favicon and Swagger UI's icons; nothing may frame a page (clickjacking), and no page
 * may post a form or set a `<base>` elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
});
