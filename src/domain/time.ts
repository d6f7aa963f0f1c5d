/**
 * Time formats used across Runhook: ISO-8601 for payloads and the API, short durations
 * (`30s`, `5m`) for configuration. Pure: callers pass epoch milliseconds in.
 */

/** UTC ISO-8601 truncated to the second, e.g. `2026-01-30T10:32:45Z` (the payload and API form). */
export function toIso(ms: number): string {
  // toISOString floors to the millisecond and throws RangeError on NaN / out-of-range values,
  // which is what we want for a programming error.
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an ISO-8601 / RFC 3339 date-time that carries a zone (`Z` or `±hh:mm`), with optional
 * fractional seconds (kept to the millisecond, truncated). Returns epoch ms, or null when the
 * text is not such a date-time or names an impossible date (`2026-02-30`). A time without a
 * zone is refused because it is ambiguous.
 */
export function parseIsoTime(text: string): number | null {
  const m = ISO_TIME.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  // Date.UTC maps years 0–99 to 1900–1999, so set the full year explicitly.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
  let offsetMinutes = 0;
  if (z === undefined) {
    const offH = Number(oh);
    const offM = Number(om);
    if (offH > 23 || offM > 59) return null;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
  }
  return date.getTime() - offsetMinutes * 60_000;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/;
const DURATION_HELP =
  'expected a number followed by ms, s, m, h or d, e.g. "500ms", "30s", "5m", "1.5h", "30d"';

/**
 * Parses a duration such as `500ms`, `30s`, `5m`, `1h` or `1.5s` into whole milliseconds
 * (rounded). Throws an Error naming the text and the reason for anything else.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error(`invalid duration "${text}": it is empty; ${DURATION_HELP}`);
  if (trimmed.startsWith('-')) {
    throw new Error(`invalid duration "${text}": it must not be negative; ${DURATION_HELP}`);
  }
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    throw new Error(`invalid duration "${text}": it has no unit; ${DURATION_HELP}`);
  }
  const m = DURATION.exec(trimmed);
  if (m === null) throw new Error(`invalid duration "${text}": ${DURATION_HELP}`);
  const [, amount, unit] = m;
  const unitMs = DURATION_UNITS_MS[unit as string];
  if (unitMs === undefined) {
    throw new Error(`invalid duration "${text}": unknown unit "${unit}"; ${DURATION_HELP}`);
  }
  const ms = Math.round(Number(amount) * unitMs);
  if (!Number.isSafeInteger(ms)) throw new Error(`invalid duration "${text}": it is too large`);
  return ms;
}

/**
 * Parses a comma-separated list of durations (`1m, 5m, 30m`) into milliseconds. The empty
 * string is the empty list (for a retry schedule: no retries). An empty item is an error.
 */
export function parseDurationList(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item, index) => {
    if (item.trim() === '') {
      throw new Error(`invalid duration list "${text}": item ${index + 1} is empty`);
    }
    return parseDuration(item);
  });
}
