/**
 * What a receiver's answer means, decided here and nowhere else (docs/delivery.md#success-and-failure): delivered on 2xx, gone
 * on 410 (the webhook gets disabled), anything else is worth retrying. Redirects are not
 * followed, so 3xx is a failure like any other non-2xx.
 */
import type { DeliveryOutcome, WebhookFormat } from './types.js';

export type AnswerClass =
  | { kind: 'delivered' }
  | { kind: 'gone' }
  | { kind: 'retryable'; retryAfterMs: number | null };

export interface Answer {
  /** The format the delivery was sent in: what counts as delivered may depend on the receiver. */
  format: WebhookFormat;
  /** null when there was no HTTP answer (timeout, refused, DNS, TLS, SSRF block...). */
  httpStatus: number | null;
  /** The raw `Retry-After` response header, if any. */
  retryAfter: string | null;
  now: number;
}

/**
 * The one "this status means delivered" rule, per webhook format: any 2xx, except for `clix`,
 * where TestCLIX's own rule holds — only `200 OK` counts (docs/payloads.md).
 */
export function isDelivered(format: WebhookFormat, httpStatus: number | null): boolean {
  if (httpStatus === null) return false;
  if (format === 'clix') return httpStatus === 200;
  return httpStatus >= 200 && httpStatus <= 299;
}

/**
 * Whether an outcome (decided once, by the send pipeline) says the receiver answered 410 Gone, which
 * turns its webhook off: the store disables it, the worker sends nothing more of what it holds of
 * it, and the health monitor reconciles it. They read this, never the status code.
 */
export function isGone(outcome: DeliveryOutcome): boolean {
  return outcome.kind === 'failed' && outcome.reason === 'gone';
}

export function classifyAttempt(input: Answer): AnswerClass {
  const status = input.httpStatus;
  if (isDelivered(input.format, status)) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  // Retry-After is only honoured where HTTP gives it a meaning for a retry (docs/delivery.md#retry-after).
  if ((status === 429 || status === 503) && input.retryAfter !== null) {
    return { kind: 'retryable', retryAfterMs: parseRetryAfter(input.retryAfter, input.now) };
  }
  return { kind: 'retryable', retryAfterMs: null };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
// RFC 9110 §5.6.7: recipients accept IMF-fixdate and the two obsolete forms.
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
);
const ASCTIME_DATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`,
);

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | null {
  const monthIndex = MONTHS.indexOf(month);
  if (h > 23 || m > 59 || s > 60) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(h, m, Math.min(s, 59), 0);
  if (date.getUTCDate() !== day) return null;
  return date.getTime();
}

function parseHttpDate(text: string, now: number): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    const [, d, mon, y, h, mi, s] = m;
    return utc(Number(y), mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    const [, d, mon, yy, h, mi, s] = m;
    // RFC 9110: a two-digit year more than 50 years in the future means the previous century.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(yy);
    if (year > thisYear + 50) year -= 100;
    return utc(year, mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  m = ASCTIME_DATE.exec(text);
  if (m !== null) {
    const [, mon, d, h, mi, s, y] = m;
    return utc(Number(y), mon!, Number(d!.trim()), Number(h), Number(mi), Number(s));
  }
  return null;
}

/**
 * `Retry-After` as a delay in ms from `now`: delta-seconds or an HTTP-date (a date in the past
 * means 0). null when the value is neither. The 1-hour cap is applied by nextStep.
 */
export function parseRetryAfter(value: string, now: number): number | null {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? ms : Number.MAX_SAFE_INTEGER;
  }
  const at = parseHttpDate(text, now);
  return at === null ? null : Math.max(0, at - now);
}
