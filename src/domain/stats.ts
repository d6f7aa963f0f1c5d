/**
 * The windows of `GET /webhooks/{id}/stats` (docs/api.md): the last 24 hours in hourly buckets, or
 * the last 7 days in daily buckets, aligned to whole UTC hours / days so that two calls in the same
 * hour show the same buckets. Pure: `now` comes in.
 */

export const STATS_WINDOWS = ['24h', '7d'] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface WindowBounds {
  /** Start of the first bucket (inclusive). */
  start: number;
  /** End of the last bucket (exclusive): the end of the current hour or day. */
  end: number;
  bucketMs: number;
  buckets: number;
}

/** `24h`: the current hour and the 23 before it; `7d`: today (UTC) and the 6 days before. */
export function statsWindow(window: StatsWindow, now: number): WindowBounds {
  const bucketMs = window === '24h' ? HOUR : DAY;
  const buckets = window === '24h' ? 24 : 7;
  const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  return { start: end - buckets * bucketMs, end, bucketMs, buckets };
}

/** Succeeded out of finished deliveries, in percent with 2 decimals; null when none has finished. */
export function successRate(succeeded: number, failed: number): number | null {
  const finished = succeeded + failed;
  return finished === 0 ? null : Math.round((succeeded / finished) * 10_000) / 100;
}

/** The nearest-rank position of percentile `p` (0–100) among `n` sorted values, 1-based. */
export function percentileRank(p: number, n: number): number {
  return Math.max(1, Math.ceil((p * n) / 100));
}
