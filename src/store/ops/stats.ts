import { sql } from 'kysely';
import type { WindowBounds } from '../../domain/stats.js';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { WebhookStats } from '../store.js';
import type { Ctx } from './context.js';

/**
 * One webhook's `event` deliveries created in the window, read through `deliveries_webhook`
 * (webhook, creation time). Exported for the plan test (test/store/claimPlan.test.ts).
 */
export function webhookEventsIn(orgId: string, webhookId: string, w: Pick<WindowBounds, 'start' | 'end'>) {
  return sql<boolean>`org_id = ${orgId} AND webhook_id = ${webhookId} AND kind = 'event'
    AND created_at >= ${w.start} AND created_at < ${w.end}`;
}

/**
 * Health numbers of one webhook's `event` deliveries created in the window, computed by the
 * database: counts per bucket and status, nearest-rank p50/p95 of the finished deliveries' last
 * response time (overall and per bucket, with window functions both dialects have), and the last
 * success and failure ever. Bucket numbers are integer divisions of the creation time.
 */
export async function webhookStats(
  { db }: Ctx,
  orgId: string,
  webhookId: string,
  w: WindowBounds,
): Promise<WebhookStats> {
  const inWindow = webhookEventsIn(orgId, webhookId, w);
  const bucket = sql`CAST((created_at - ${w.start}) / ${w.bucketMs} AS integer)`;
  const [counts, overall, perBucket, last] = await Promise.all([
    sql<{ b: number | string; status: string; n: number | string }>`
      SELECT ${bucket} AS b, status, count(*) AS n FROM deliveries WHERE ${inWindow}
      GROUP BY b, status`.execute(db),
    sql<{ p: number | string; rt: number | string }>`
      WITH r AS (
        SELECT last_response_time_ms AS rt,
               row_number() OVER (ORDER BY last_response_time_ms) AS rn,
               count(*) OVER () AS n
        FROM deliveries
        WHERE ${inWindow} AND status <> ${sql.lit(DELIVERY_STATUS.pending)} AND last_response_time_ms IS NOT NULL
      )
      SELECT 50 AS p, rt FROM r WHERE rn = (n * 50 + 99) / 100
      UNION ALL
      SELECT 95 AS p, rt FROM r WHERE rn = (n * 95 + 99) / 100`.execute(db),
    sql<{ b: number | string; rt: number | string }>`
      WITH r AS (
        SELECT ${bucket} AS b, last_response_time_ms AS rt,
               row_number() OVER (PARTITION BY ${bucket} ORDER BY last_response_time_ms) AS rn,
               count(*) OVER (PARTITION BY ${bucket}) AS n
        FROM deliveries
        WHERE ${inWindow} AND status <> ${sql.lit(DELIVERY_STATUS.pending)} AND last_response_time_ms IS NOT NULL
      )
      SELECT b, rt FROM r WHERE rn = (n * 95 + 99) / 100`.execute(db),
    sql<{ status: string; at: number | string | null }>`
      SELECT status, max(updated_at) AS at FROM deliveries
      WHERE org_id = ${orgId} AND webhook_id = ${webhookId} AND kind = 'event'
        AND status IN (${sql.lit(DELIVERY_STATUS.succeeded)}, ${sql.lit(DELIVERY_STATUS.failed)})
      GROUP BY status`.execute(db),
  ]);

  const buckets = Array.from({ length: w.buckets }, (_, i) => ({
    start: w.start + i * w.bucketMs,
    succeeded: 0,
    failed: 0,
    p95Ms: null as number | null,
  }));
  const totals = { succeeded: 0, failed: 0, pending: 0 };
  for (const row of counts.rows) {
    const n = Number(row.n);
    const status = row.status as keyof typeof totals;
    if (status in totals) totals[status] += n;
    const b = buckets[Number(row.b)];
    if (b && (status === DELIVERY_STATUS.succeeded || status === DELIVERY_STATUS.failed)) b[status] += n;
  }
  for (const row of perBucket.rows) {
    const b = buckets[Number(row.b)];
    if (b) b.p95Ms = Number(row.rt);
  }
  const percentile = (p: number) => {
    const row = overall.rows.find((r) => Number(r.p) === p);
    return row ? Number(row.rt) : null;
  };
  const lastAt = (status: string) => {
    const row = last.rows.find((r) => r.status === status);
    return row?.at == null ? null : Number(row.at);
  };
  return {
    deliveries: totals.succeeded + totals.failed + totals.pending,
    ...totals,
    p50Ms: percentile(50),
    p95Ms: percentile(95),
    lastSuccessAt: lastAt(DELIVERY_STATUS.succeeded),
    lastFailureAt: lastAt(DELIVERY_STATUS.failed),
    buckets,
  };
}
