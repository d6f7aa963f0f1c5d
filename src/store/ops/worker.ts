import { type CompiledQuery, sql } from 'kysely';
import type { AttemptTrigger, WebhookFormat } from '../../domain/types.js';
import type { ClaimedDelivery, DeliveryResult } from '../store.js';
import type { Ctx } from './context.js';

/**
 * Claims up to `limit` due deliveries for one worker, leasing them until `now + leaseMs`.
 * A webhook never has more than `perWebhookCap` leased deliveries at once, across all workers:
 * claims are serialised (a transaction lock on SQLite, an advisory lock on PostgreSQL), and a
 * webhook at its cap is left out of the scan, so one slow endpoint cannot crowd out the rest.
 * Candidates are taken round-robin across webhooks (`ORDER BY rn`).
 *
 * Leases are counted once, through `deliveries_lease` alone (`lease_until >= now`, no status
 * test): only a pending delivery ever holds a lease, since every write that ends one
 * (recordResults, redeliver) clears it. Testing `status` too, or grouping in the same query, made
 * SQLite walk every pending row by another index, so each claim cost O(backlog); MATERIALIZED
 * (SQLite ≥ 3.35, PostgreSQL ≥ 12) keeps the planner from folding the CTE back in.
 */
export async function claimDueDeliveries(
  { db, hooks }: Ctx,
  input: { workerId: string; now: number; limit: number; leaseMs: number; perWebhookCap: number },
): Promise<ClaimedDelivery[]> {
  const { workerId, now, limit, leaseMs, perWebhookCap: cap } = input;
  const until = now + leaseMs;
  const lockClause = hooks.skipLocked ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  // Pick and lease in one statement, then read each webhook involved once (the leases just written
  // are the ones with this owner and this exact end): one batch, one round trip on SQLite.
  const pickAndLease = sql`
    WITH leased_rows AS MATERIALIZED (
      SELECT webhook_id FROM deliveries WHERE lease_until >= ${now}
    ),
    leased AS (SELECT webhook_id, count(*) AS n FROM leased_rows GROUP BY webhook_id),
    picked AS (
      SELECT c.id FROM (
        SELECT d.id, d.webhook_id,
               row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
        FROM (
          SELECT id, webhook_id, next_attempt_at FROM deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now}
            AND (lease_until IS NULL OR lease_until < ${now})
            AND webhook_id NOT IN (SELECT webhook_id FROM leased WHERE n >= ${cap})
          ORDER BY next_attempt_at
          LIMIT ${limit * 4}
          ${lockClause}
        ) d
      ) c
      LEFT JOIN leased f ON f.webhook_id = c.webhook_id
      WHERE c.rn <= ${cap} - COALESCE(f.n, 0)
      ORDER BY c.rn
      LIMIT ${limit}
    )
    UPDATE deliveries SET lease_owner = ${workerId}, lease_until = ${until}
    WHERE id IN (SELECT id FROM picked)
    RETURNING id, event_id, org_id, webhook_id, body, attempt_count, retries_done, next_trigger,
              final_attempt`.compile(db);
  const readWebhooks = db
    .selectFrom('webhooks')
    .select([
      'id',
      'url',
      'format',
      'headers',
      'secret_enc',
      'previous_secret_enc',
      'previous_secret_until',
      'is_enabled',
      'deleted_at',
    ])
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('deliveries')
        .select('webhook_id')
        .where('lease_owner', '=', workerId)
        .where('lease_until', '=', until),
    )
    .compile();
  const [leasedRows, webhookRows] = await hooks.runBatch([pickAndLease, readWebhooks], {
    durable: false,
    claimLock: true,
  });
  const deliveries = (leasedRows?.rows ?? []) as unknown as ClaimedRow[];
  const webhooks = (webhookRows?.rows ?? []) as unknown as WebhookRow[];

  const targets = new Map(
    webhooks.map((w) => [
      w.id,
      {
        live: w.deleted_at === null,
        enabled: Number(w.is_enabled) === 1,
        target: {
          url: w.url,
          format: w.format as WebhookFormat,
          headers: JSON.parse(w.headers) as Record<string, string>,
          secretEnc: w.secret_enc,
          previousSecretEnc:
            w.previous_secret_until !== null && Number(w.previous_secret_until) > now
              ? w.previous_secret_enc
              : null,
        },
      },
    ]),
  );
  return deliveries.map((r) => {
    const w = targets.get(r.webhook_id);
    return {
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
      // Deliveries of one webhook share its target object: nothing downstream changes it.
      target: w?.live && (w.enabled || r.next_trigger === 'test') ? w.target : null,
    };
  });
}

interface WebhookRow {
  id: string;
  url: string;
  format: string;
  headers: string;
  secret_enc: string | null;
  previous_secret_enc: string | null;
  previous_secret_until: number | string | null;
  is_enabled: number | string;
  deleted_at: number | string | null;
}

interface ClaimedRow {
  id: string;
  event_id: string;
  org_id: string;
  webhook_id: string;
  body: string;
  attempt_count: number | string;
  retries_done: number | string;
  next_trigger: string;
  final_attempt: number | string;
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
 * chunk whatever its size, all sent as one batch: this is the group commit that keeps the hot
 * path fast.
 */
export async function recordResults({ db, hooks }: Ctx, results: DeliveryResult[]): Promise<void> {
  if (results.length === 0) return;
  const statements: CompiledQuery[] = [];
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
    if (attempts.length > 0) statements.push(db.insertInto('attempts').values(attempts).compile());

    const values = chunk.map(
      (
        r,
      ) => sql`(CAST(${r.deliveryId} AS text), CAST(${r.status} AS text), CAST(${r.attempt ? 1 : 0} AS integer),
        CAST(${r.countsAsRetry ? 1 : 0} AS integer), CAST(${r.nextAttemptAt} AS bigint), CAST(${r.leaseOwner} AS text),
        CAST(${r.attempt?.httpStatus ?? null} AS integer), CAST(${r.attempt?.responseTimeMs ?? null} AS integer),
        CAST(${r.finishedAt} AS bigint))`,
    );
    statements.push(
      sql`
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
      WHERE deliveries.id = v.id AND deliveries.lease_owner = v.owner`.compile(db),
    );

    const perWebhook = summariseWebhooks(chunk);
    if (perWebhook.length > 0) {
      const wv = perWebhook.map(
        (
          w,
        ) => sql`(CAST(${w.webhookId} AS text), CAST(${w.reset ? 1 : 0} AS integer), CAST(${w.failures} AS integer),
          CAST(${w.lastTriggeredAt} AS bigint), CAST(${w.disable ? 1 : 0} AS integer))`,
      );
      statements.push(
        sql`
        WITH v(id, reset, failures, triggered_at, disable) AS (VALUES ${sql.join(wv)})
        UPDATE webhooks SET
          consecutive_failures = CASE WHEN v.reset = 1 THEN v.failures ELSE webhooks.consecutive_failures + v.failures END,
          last_triggered_at = CASE WHEN webhooks.last_triggered_at IS NULL OR webhooks.last_triggered_at < v.triggered_at
                                   THEN v.triggered_at ELSE webhooks.last_triggered_at END,
          is_enabled = CASE WHEN v.disable = 1 THEN 0 ELSE webhooks.is_enabled END
        FROM v
        WHERE webhooks.id = v.id`.compile(db),
      );
    }
  }
  await hooks.runBatch(statements, { durable: true });
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

/**
 * When the next pending delivery becomes claimable: its due time, or the end of its lease if later.
 * Two index walks instead of one pass over every pending row: the earliest unleased delivery
 * (`deliveries_due`), and the leased ones (`deliveries_lease`; only pending deliveries hold a
 * lease, and there are about as many as attempts in flight).
 */
export async function nextDueAt({ db }: Ctx): Promise<number | null> {
  const [unleased, leased] = await Promise.all([
    db
      .selectFrom('deliveries')
      .select('next_attempt_at as due')
      .where('status', '=', 'pending')
      .where('lease_until', 'is', null)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('deliveries')
      .select(
        sql<number | string | null>`min(CASE WHEN lease_until > next_attempt_at
                                        THEN lease_until ELSE next_attempt_at END)`.as('due'),
      )
      .where('lease_until', '>=', 0)
      .executeTakeFirst(),
  ]);
  const due = [unleased?.due, leased?.due].filter((d) => d != null).map(Number);
  return due.length === 0 ? null : Math.min(...due);
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
