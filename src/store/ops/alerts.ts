import type { AlertEvent } from '../../domain/health.js';
import type { ClaimedAlert } from '../store.js';
import type { Ctx, Db } from './context.js';

/**
 * Operator alerts waiting to be sent (docs/configuration.md#runhook_alert_url): claimed under a
 * lease like deliveries, so a process that dies mid-send leaves them to the next claim.
 *
 * Alerts coalesce per webhook (RUNHOOK_ALERT_INTERVAL, `intervalMs`; 0 turns this off): a new
 * alert waits until `intervalMs` after the webhook's last alert was sent; of several waiting, only
 * the newest is sent (it tells the current state) and the older ones become `suppressed`. The one
 * sent carries how many were suppressed since the alert before it. Retries of an alert already
 * sent are not held back.
 */
export async function claimDueAlerts(
  { db }: Ctx,
  input: { now: number; limit: number; leaseMs: number; intervalMs: number },
): Promise<ClaimedAlert[]> {
  const { now, intervalMs } = input;
  return db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('alerts as a')
      .innerJoin('organizations as o', 'o.id', 'a.org_id')
      .innerJoin('webhooks as w', 'w.id', 'a.webhook_id')
      .select([
        'a.id',
        'a.event',
        'a.reason',
        'a.consecutive_failures',
        'a.attempt_count',
        'a.created_at',
        'a.org_id',
        'o.name as org_name',
        'a.webhook_id',
        'w.url',
        'w.agent_id',
      ])
      .where('a.status', '=', 'pending')
      .where('a.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('a.lease_until', 'is', null), eb('a.lease_until', '<', now)]))
      // Oldest first, so that of a webhook's waiting alerts the older ones are suppressed before
      // the newest is leased and counts them. By `next_attempt_at`, a newer alert not yet held
      // back (due since its creation) came before older ones held until the interval's end; so did
      // any of equal times that the database returned first, and the newest went out counting too few.
      .orderBy('a.created_at')
      .orderBy('a.id')
      .limit(input.limit)
      .execute();
    if (due.length === 0) return [];
    // Guarded by the lease read above: of two processes, one leases each alert.
    const leased: ClaimedAlert[] = [];
    for (const a of due) {
      const createdAt = Number(a.created_at);
      if (Number(a.attempt_count) === 0) {
        const held = await holdBack(trx, a.id, a.webhook_id, createdAt, now, intervalMs);
        if (held) continue;
      }
      const res = await trx
        .updateTable('alerts')
        .set({ lease_until: now + input.leaseMs, updated_at: now })
        .where('id', '=', a.id)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      leased.push({
        id: a.id,
        event: a.event as AlertEvent,
        reason: a.reason,
        consecutiveFailures: Number(a.consecutive_failures),
        attemptCount: Number(a.attempt_count),
        createdAt,
        organization: { id: a.org_id, name: a.org_name },
        webhook: { id: a.webhook_id, url: a.url, agentId: a.agent_id },
        suppressed: await suppressedBefore(trx, a.webhook_id, createdAt),
      });
    }
    return leased;
  });
}

/**
 * Whether a fresh alert must not be sent now: a newer one of its webhook waits (this one becomes
 * `suppressed`), or the webhook's last alert went out less than `intervalMs` ago (this one waits).
 */
async function holdBack(
  trx: Db,
  id: string,
  webhookId: string,
  createdAt: number,
  now: number,
  intervalMs: number,
): Promise<boolean> {
  if (intervalMs <= 0) return false;
  const newer = await trx
    .selectFrom('alerts')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .where('attempt_count', '=', 0)
    .where('id', '!=', id)
    .where((eb) =>
      eb.or([
        eb('created_at', '>', createdAt),
        eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)]),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  if (newer) {
    await trx
      .updateTable('alerts')
      .set({ status: 'suppressed', next_attempt_at: null, lease_until: null, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    return true;
  }
  // Alerts that went out: attempted at least once, or leased for their first attempt right now.
  const last = await trx
    .selectFrom('alerts')
    .select((eb) => eb.fn.max('updated_at').as('at'))
    .where('webhook_id', '=', webhookId)
    .where('id', '!=', id)
    .where('status', '!=', 'suppressed')
    .where((eb) => eb.or([eb('attempt_count', '>', 0), eb('lease_until', 'is not', null)]))
    .executeTakeFirst();
  const lastSentAt = last?.at == null ? null : Number(last.at);
  if (lastSentAt === null || now >= lastSentAt + intervalMs) return false;
  await trx
    .updateTable('alerts')
    .set({ next_attempt_at: lastSentAt + intervalMs })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
  return true;
}

/** Alerts of a webhook suppressed after the last alert sent before the one created at `createdAt`. */
async function suppressedBefore(trx: Db, webhookId: string, createdAt: number): Promise<number> {
  const previous = await trx
    .selectFrom('alerts')
    .select((eb) => eb.fn.max('created_at').as('at'))
    .where('webhook_id', '=', webhookId)
    .where('status', '!=', 'suppressed')
    .where('created_at', '<', createdAt)
    .executeTakeFirst();
  const since = previous?.at == null ? -1 : Number(previous.at);
  const row = await trx
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'suppressed')
    .where('created_at', '>', since)
    .where('created_at', '<=', createdAt)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function recordAlertAttempt(
  { db }: Ctx,
  input: {
    id: string;
    status: 'pending' | 'sent' | 'failed';
    nextAttemptAt: number | null;
    httpStatus: number | null;
    error: string | null;
    now: number;
  },
): Promise<void> {
  await db
    .updateTable('alerts')
    .set((eb) => ({
      status: input.status,
      attempt_count: eb('attempt_count', '+', 1),
      next_attempt_at: input.nextAttemptAt,
      lease_until: null,
      last_http_status: input.httpStatus,
      last_error: input.error,
      updated_at: input.now,
    }))
    .where('id', '=', input.id)
    .execute();
}

/** The earliest time an unsent alert is due, for the sender's sleep; null when none waits. */
export async function nextAlertDueAt({ db }: Ctx): Promise<number | null> {
  const row = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.min('next_attempt_at').as('due'))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.due == null ? null : Number(row.due);
}

/** Alerts sent, failed or suppressed before `cutoff` (retention, docs/operations.md#retention). */
export async function pruneAlerts({ db }: Ctx, input: { cutoff: number; limit: number }): Promise<number> {
  const res = await db
    .deleteFrom('alerts')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('alerts as a')
        .select('a.id')
        .where('a.status', '!=', 'pending')
        .where('a.updated_at', '<', input.cutoff)
        .limit(input.limit),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
