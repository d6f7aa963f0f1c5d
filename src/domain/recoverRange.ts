/**
 * The time range of a recover (docs/receiving-webhooks.md, "When your endpoint fails"): `since`
 * required, `until` defaulting to now, `until` after `since`, at most a year (366 days, so any
 * calendar year fits). Shared by the API and `runhook webhooks recover`. Pure.
 */
import { parseIsoTime } from './time.js';

export const MAX_RECOVER_RANGE_MS = 366 * 24 * 3_600_000;

export type RecoverRange =
  | { ok: true; since: number; until: number }
  | { ok: false; field: 'since' | 'until'; message: string };

export function parseRecoverRange(since: string, until: string | undefined, now: number): RecoverRange {
  const from = parseIsoTime(since);
  if (from === null) {
    return {
      ok: false,
      field: 'since',
      message: 'since must be an ISO-8601 time such as 2026-01-30T10:32:45Z',
    };
  }
  const to = until === undefined ? now : parseIsoTime(until);
  if (to === null) {
    return {
      ok: false,
      field: 'until',
      message: 'until must be an ISO-8601 time such as 2026-01-30T10:32:45Z',
    };
  }
  if (to <= from) {
    return {
      ok: false,
      field: until === undefined ? 'since' : 'until',
      message: until === undefined ? 'since must be in the past' : 'until must be after since',
    };
  }
  if (to - from > MAX_RECOVER_RANGE_MS) {
    return {
      ok: false,
      field: 'until',
      message: 'the range from since to until may cover at most a year (366 days)',
    };
  }
  return { ok: true, since: from, until: to };
}
