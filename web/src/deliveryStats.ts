/** Pure numbers behind the 24-hour chart: hourly buckets of deliveries by outcome, with p95. */
import type { Delivery } from './types';

export interface HourBucket {
  /** Start of the hour, epoch ms. */
  start: number;
  succeeded: number;
  failed: number;
  pending: number;
  /** p95 of last_response_time_ms in this hour, null when no delivery had an answer time. */
  p95: number | null;
}

export interface DaySummary {
  buckets: HourBucket[];
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  p95: number | null;
}

const HOUR = 3_600_000;

/** Nearest-rank percentile (p in 0–100) of the given numbers; null for none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** 24 buckets, the last one being the current (partial) hour. */
export function summarizeLast24h(deliveries: Delivery[], now: number): DaySummary {
  const currentHour = Math.floor(now / HOUR) * HOUR;
  const first = currentHour - 23 * HOUR;
  const times: number[][] = Array.from({ length: 24 }, () => []);
  const buckets: HourBucket[] = Array.from({ length: 24 }, (_, i) => ({
    start: first + i * HOUR,
    succeeded: 0,
    failed: 0,
    pending: 0,
    p95: null,
  }));
  const allTimes: number[] = [];
  for (const delivery of deliveries) {
    const at = Date.parse(delivery.created_at);
    if (Number.isNaN(at) || at < first || at > now + HOUR) continue;
    const index = Math.min(23, Math.floor((at - first) / HOUR));
    const bucket = buckets[index]!;
    bucket[delivery.status] += 1;
    if (delivery.last_response_time_ms !== null) {
      times[index]!.push(delivery.last_response_time_ms);
      allTimes.push(delivery.last_response_time_ms);
    }
  }
  buckets.forEach((bucket, i) => {
    bucket.p95 = percentile(times[i]!, 95);
  });
  const sum = (key: 'succeeded' | 'failed' | 'pending') => buckets.reduce((n, b) => n + b[key], 0);
  const succeeded = sum('succeeded');
  const failed = sum('failed');
  const pending = sum('pending');
  return {
    buckets,
    total: succeeded + failed + pending,
    succeeded,
    failed,
    pending,
    p95: percentile(allTimes, 95),
  };
}
