/**
 * The live tail's reads (docs/api.md#live-tail): an organization's attempts whose ids sort after a
 * given id, oldest first, with the delivery's status as it is now. Attempt ids are time-ordered
 * (domain/ids.ts), so "after this id" walks the attempts table's primary key from that point: a
 * stream reads only what was recorded since its last read, whatever the table's size. The CROSS
 * JOIN keeps SQLite's planner, which has no statistics, from starting at the organization's
 * deliveries instead (it is a plain inner join to PostgreSQL).
 */
import { sql } from 'kysely';
import { DELIVERY_STATUS, type DeliveryStatus } from '../../domain/types.js';
import type { AttemptFeedItem, AttemptFeedQuery } from '../deliveryTypes.js';
import type { Ctx } from './context.js';

export async function readAttemptFeed(
  { db }: Ctx,
  orgId: string,
  query: AttemptFeedQuery,
): Promise<AttemptFeedItem[]> {
  const webhook = query.webhookId === undefined ? sql`` : sql` AND d.webhook_id = ${query.webhookId}`;
  const rows = await sql<{
    id: string;
    delivery_id: string;
    webhook_id: string;
    trigger: string;
    status: string;
    http_status: number | null;
    response_time_ms: number | null;
    attempt_number: number;
    error_class: string | null;
    started_at: number | string;
  }>`
    SELECT a.id, a.delivery_id, d.webhook_id, a.trigger,
           -- An attempt another one followed left its delivery pending (a read that comes late, or
           -- a replay, finds the delivery's status of now).
           CASE WHEN a.attempt_number < d.attempt_count THEN ${sql.lit(DELIVERY_STATUS.pending)} ELSE d.status END AS status,
           a.http_status, a.response_time_ms,
           a.attempt_number, a.error_class, a.started_at
    FROM attempts a CROSS JOIN deliveries d
    WHERE d.id = a.delivery_id AND a.id > ${query.afterId} AND d.org_id = ${orgId}${webhook}
    ORDER BY a.id
    LIMIT ${query.limit}`.execute(db);
  return rows.rows.map((r) => ({
    id: r.id,
    deliveryId: r.delivery_id,
    webhookId: r.webhook_id,
    trigger: r.trigger,
    status: r.status as DeliveryStatus,
    httpStatus: r.http_status === null ? null : Number(r.http_status),
    responseTimeMs: r.response_time_ms === null ? null : Number(r.response_time_ms),
    attemptNumber: Number(r.attempt_number),
    errorClass: r.error_class,
    startedAt: Number(r.started_at),
  }));
}
