import { sql } from 'kysely';
import type { AttemptTrigger, WebhookFormat } from '../../domain/types.js';
import type { ClaimedDelivery, DeliveryResult } from '../store.js';
import type { Ctx } from './context.js';

/**
 * Claims up to `limit` due deliveries for one worker, leasing them until `now + leaseMs`.
 * A webhook never has more than `perWebhookCap` leased deliveries at once, across all workers:
 * claims are serialised (a transaction lock on SQLite, an advisory lock on PostgreSQL), and a
 * webhook at its cap is left out of the scan, so one slow endpoint cannot crowd out the rest.
 * Candidates are taken round-robin across webhooks (`ORDER BY rn`).
 */
export async function claimDueDeliveries(
  { db, hooks }: Ctx,
  input: { workerId: string; now: number; limit: number; leaseMs: number; perWebhookCap: number },
): Promise<ClaimedDelivery[]> {
  const { workerId, now, limit, leaseMs, perWebhookCap: cap } = input;
  const lockClause = hooks.skipLocked ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const rows = await db.transaction().execute(async (trx) => {
    await hooks.lockForClaim(trx);
    const picked = await sql<{ id: string }>`
      SELECT c.id FROM (
        SELECT d.id, d.webhook_id,
               row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
        FROM (
          SELECT id, webhook_id, next_attempt_at FROM deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now}
            AND (lease_until IS NULL OR lease_until < ${now})
            AND webhook_id NOT IN (
              SELECT webhook_id FROM deliveries
              WHERE lease_until >= ${now} AND status = 'pending'
              GROUP BY webhook_id HAVING count(*) >= ${cap})
          ORDER BY next_attempt_at
          LIMIT ${limit * 4}
          ${lockClause}
        ) d
      ) c
      LEFT JOIN (
        SELECT webhook_id, count(*) AS n FROM deliveries
        WHERE lease_until >= ${now} AND status = 'pending'
        GROUP BY webhook_id
      ) f ON f.webhook_id = c.webhook_id
      WHERE c.rn <= ${cap} - COALESCE(f.n, 0)
      ORDER BY c.rn
      LIMIT ${limit}`.execute(trx);
    const ids = picked.rows.map((r) => r.id);
    if (ids.length === 0) return [];
    await trx
      .updateTable('deliveries')
      .set({ lease_owner: workerId, lease_until: now + leaseMs })
      .where('id', 'in', ids)
      .execute();
    return trx
      .selectFrom('deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .select([
        'd.id',
        'd.event_id',
        'd.org_id',
        'd.webhook_id',
        'd.body',
        'd.attempt_count',
        'd.retries_done',
        'd.next_trigger',
        'd.final_attempt',
        'w.url',
        'w.format',
        'w.headers',
        'w.secret_enc',
        'w.previous_secret_enc',
        'w.previous_secret_until',
        'w.is_enabled',
        'w.deleted_at',
      ])
      .where('d.id', 'in', ids)
      .execute();
  });
  return rows.map((r) => ({
    deliveryId: r.id,
    eventId: r.event_id,
    orgId: r.org_id,
    webhookId: r.webhook_id,
    body: r.body,
    attemptCount: Number(r.attempt_count),
    retriesDone: Number(r.retries_done),
    trigger: r.next_trigger as AttemptTrigger,
    finalAttempt: Number(r.final_attempt) === 1,
    leaseOwner: workerId,
    // Test deliveries are sent even to a disabled webhook (people test before they switch it on).
    target:
      r.deleted_at === null && (Number(r.is_enabled) === 1 || r.next_trigger === 'test')
        ? {
            url: r.url,
            format: r.format as WebhookFormat,
            headers: JSON.parse(r.headers) as Record<string, string>,
            secretEnc: r.secret_enc,
            previousSecretEnc:
              r.previous_secret_until !== null && Number(r.previous_secret_until) > now
                ? r.previous_secret_enc
                : null,
          }
        : null,
  }));
}

export async function extendLeases(
  { db }: Ctx,
  workerId: string,
  ids: string[],
  until: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ lease_until: until })
    .where('id', 'in', ids)
    .where('lease_owner', '=', workerId)
    .execute();
}

export async function releaseLeases({ db, hooks }: Ctx, workerId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ lease_owner: null, lease_until: null })
    .where('id', 'in', ids)
    .where('lease_owner', '=', workerId)
    .execute();
  await hooks.notifyNewWork();
}

const CHUNK = 200;

/**
 * Writes a batch of outcomes in one transaction: the attempts, the deliveries' new state, and
 * each webhook's `consecutive_failures` / `last_triggered_at` / `is_enabled`. Three statements per
 * chunk whatever its size: this is the group commit that keeps the hot path fast.
 */
export async function recordResults({ db }: Ctx, results: DeliveryResult[]): Promise<void> {
  if (results.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < results.length; i += CHUNK) {
      const chunk = results.slice(i, i + CHUNK);
      const attempts = chunk.flatMap((r) =>
        r.attempt
          ? [
              {
                id: r.attempt.id,
                delivery_id: r.deliveryId,
                attempt_number: r.attempt.attemptNumber,
                trigger: r.trigger,
                started_at: r.attempt.startedAt,
                response_time_ms: r.attempt.responseTimeMs,
                http_status: r.attempt.httpStatus,
                error_class: r.attempt.errorClass,
                error_message: r.attempt.errorMessage,
                request: JSON.stringify(r.attempt.request),
                response: r.attempt.response === null ? null : JSON.stringify(r.attempt.response),
              },
            ]
          : [],
      );
      if (attempts.length > 0) await trx.insertInto('attempts').values(attempts).execute();

      const values = chunk.map(
        (
          r,
        ) => sql`(CAST(${r.deliveryId} AS text), CAST(${r.status} AS text), CAST(${r.attempt ? 1 : 0} AS integer),
          CAST(${r.countsAsRetry ? 1 : 0} AS integer), CAST(${r.nextAttemptAt} AS bigint), CAST(${r.leaseOwner} AS text),
          CAST(${r.attempt?.httpStatus ?? null} AS integer), CAST(${r.attempt?.responseTimeMs ?? null} AS integer),
          CAST(${r.finishedAt} AS bigint))`,
      );
      await sql`
        WITH v(id, status, add_attempt, add_retry, next_at, owner, http_status, rt, done_at) AS (VALUES ${sql.join(values)})
        UPDATE deliveries SET
          status = v.status,
          attempt_count = deliveries.attempt_count + v.add_attempt,
          retries_done = deliveries.retries_done + v.add_retry,
          next_attempt_at = v.next_at,
          next_trigger = 'scheduled',
          final_attempt = 0,
          lease_owner = NULL,
          lease_until = NULL,
          last_http_status = CASE WHEN v.add_attempt = 1 THEN v.http_status ELSE deliveries.last_http_status END,
          last_response_time_ms = CASE WHEN v.add_attempt = 1 THEN v.rt ELSE deliveries.last_response_time_ms END,
          updated_at = v.done_at
        FROM v
        WHERE deliveries.id = v.id AND deliveries.lease_owner = v.owner`.execute(trx);

      const perWebhook = summariseWebhooks(chunk);
      if (perWebhook.length > 0) {
        const wv = perWebhook.map(
          (
            w,
          ) => sql`(CAST(${w.webhookId} AS text), CAST(${w.reset ? 1 : 0} AS integer), CAST(${w.failures} AS integer),
            CAST(${w.lastTriggeredAt} AS bigint), CAST(${w.disable ? 1 : 0} AS integer))`,
        );
        await sql`
          WITH v(id, reset, failures, triggered_at, disable) AS (VALUES ${sql.join(wv)})
          UPDATE webhooks SET
            consecutive_failures = CASE WHEN v.reset = 1 THEN v.failures ELSE webhooks.consecutive_failures + v.failures END,
            last_triggered_at = CASE WHEN webhooks.last_triggered_at IS NULL OR webhooks.last_triggered_at < v.triggered_at
                                     THEN v.triggered_at ELSE webhooks.last_triggered_at END,
            is_enabled = CASE WHEN v.disable = 1 THEN 0 ELSE webhooks.is_enabled END
          FROM v
          WHERE webhooks.id = v.id`.execute(trx);
      }
    }
  });
}

interface WebhookSummary {
  webhookId: string;
  reset: boolean;
  failures: number;
  lastTriggeredAt: number;
  disable: boolean;
}

/** Folds a batch's attempts per webhook, in order: a success resets the failure count. Test attempts count for nothing. */
function summariseWebhooks(chunk: DeliveryResult[]): WebhookSummary[] {
  const map = new Map<string, WebhookSummary>();
  for (const r of chunk) {
    if (!r.attempt || r.trigger === 'test') continue;
    let s = map.get(r.webhookId);
    if (!s) {
      s = { webhookId: r.webhookId, reset: false, failures: 0, lastTriggeredAt: 0, disable: false };
      map.set(r.webhookId, s);
    }
    if (r.attempt.httpStatus !== null && r.attempt.httpStatus >= 200 && r.attempt.httpStatus < 300) {
      s.reset = true;
      s.failures = 0;
    } else {
      s.failures += 1;
    }
    s.lastTriggeredAt = Math.max(s.lastTriggeredAt, r.attempt.startedAt);
    s.disable ||= r.disableWebhook;
  }
  return [...map.values()];
}

/** When the next pending delivery becomes claimable: its due time, or the end of its lease if later. */
export async function nextDueAt({ db }: Ctx): Promise<number | null> {
  const row = await db
    .selectFrom('deliveries')
    .select(
      sql<number | string | null>`min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at
                                        THEN lease_until ELSE next_attempt_at END)`.as('due'),
    )
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.due == null ? null : Number(row.due);
}

export async function countPending(
  { db }: Ctx,
  now: number,
): Promise<{ pending: number; oldestDueAt: number | null }> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => [sql<number>`count(*)`.as('n'), eb.fn.min('next_attempt_at').as('oldest')])
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  const oldest = row.oldest == null ? null : Number(row.oldest);
  return { pending: Number(row.n), oldestDueAt: oldest !== null && oldest <= now ? oldest : null };
}
