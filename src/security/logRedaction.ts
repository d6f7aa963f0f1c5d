/**
 * Secrets that reach a log line inside text rather than as a field pino's `redact` paths know:
 * an API key pasted into a query string (`GET /api/v1/agents?api_key=sk_live_…`, refused, but the
 * request line is logged), a token in a URL. Applied to every finished line (docs/monitoring.md#logs).
 */

/** Query parameters whose value is replaced, whatever it is (names compared case-insensitively). */
export const SECRET_QUERY_PARAMETERS = [
  'api_key',
  'apikey',
  'api-key',
  'access_token',
  'token',
  'key',
  'secret',
];

const API_KEY_IN_TEXT = /sk_live_[A-Za-z0-9]+/g;
// A parameter's value ends at the next `&`, `#`, quote, backslash (JSON escape) or whitespace.
const SECRET_PARAMETER = new RegExp(
  `([?&](?:${SECRET_QUERY_PARAMETERS.map((p) => p.replace(/[-_]/g, '[-_]')).join('|')})=)[^&#"\\\\\\s]*`,
  'gi',
);

/** `text` with every API key and the value of every secret-named query parameter replaced. */
export function redactSecretsInText(text: string): string {
  if (!text.includes('sk_live_') && !text.includes('=')) return text;
  return text.replace(API_KEY_IN_TEXT, 'sk_live_[redacted]').replace(SECRET_PARAMETER, '$1[redacted]');
}
