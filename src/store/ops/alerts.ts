import type { AlertEvent } from '../../domain/health.js';
import type { ClaimedAlert } from '../store.js';
import type { Ctx } from './context.js';

/**
 * Operator alerts waiting to be sent (docs/configuration.md#runhook_alert_url): claimed under a
 * lease like deliveries, so a process that dies mid-send leaves them to the next claim.
 */
export async function claimDueAlerts(
  { db }: Ctx,
  input: { now: number; limit: number; leaseMs: number },
): Promise<ClaimedAlert[]> {
  const { now } = input;
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
      .orderBy('a.next_attempt_at')
      .limit(input.limit)
      .execute();
    if (due.length === 0) return [];
    // Guarded by the lease read above: of two processes, one leases each alert.
    const leased: ClaimedAlert[] = [];
    for (const a of due) {
      const res = await trx
        .updateTable('alerts')
        .set({ lease_until: now + input.leaseMs })
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
        createdAt: Number(a.created_at),
        organization: { id: a.org_id, name: a.org_name },
        webhook: { id: a.webhook_id, url: a.url, agentId: a.agent_id },
      });
    }
    return leased;
  });
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
