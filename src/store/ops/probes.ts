import { sql } from 'kysely';
import { probeDelay } from '../../domain/health.js';
import { timeOrderedUuid } from '../../domain/ids.js';
import { ATTEMPT_TRIGGER, DELIVERY_STATUS, type WebhookFormat } from '../../domain/types.js';
import type { ClaimedDelivery, DueProbe } from '../store.js';
import type { Ctx } from './context.js';
import { newDeliveryRow } from './newRows.js';
import { sendTarget } from './sendTarget.js';

/** A webhook the system turned off: `gone` or `failing` (a missing reason reads as `gone`, as in mappers.ts). */
const systemDisabled = sql<boolean>`COALESCE(w.disabled_reason, 'gone') IN ('gone', 'failing')`;

/**
 * Webhooks the system turned off whose next probe is due: the first delay of the schedule after
 * they were turned off, then each later one after the previous probe. One probe at a time: none
 * while a probe delivery is still pending.
 */
export async function dueProbes(
  { db }: Ctx,
  input: { now: number; firstDelayMs: number; limit: number },
): Promise<DueProbe[]> {
  const rows = await db
    .selectFrom('webhooks as w')
    .select(['w.id', 'w.org_id', 'w.format', 'w.probe_count'])
    .where('w.is_enabled', '=', 0)
    .where('w.deleted_at', 'is', null)
    .where(systemDisabled)
    .where(sql<boolean>`COALESCE(w.next_probe_at, w.disabled_at + ${input.firstDelayMs}) <= ${input.now}`)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('deliveries as d')
            .select('d.id')
            .whereRef('d.webhook_id', '=', 'w.id')
            .where('d.kind', '=', 'probe')
            .where('d.status', '=', 'pending'),
        ),
      ),
    )
    .limit(input.limit)
    .execute();
  return rows.map((r) => ({
    webhookId: r.id,
    orgId: r.org_id,
    format: r.format as WebhookFormat,
    probesDone: Number(r.probe_count),
  }));
}

/**
 * Creates one probe of a webhook the system turned off: a `test` event and its delivery of kind
 * `probe` (trigger `probe`, one attempt), leased to the caller, who sends it at once through the
 * delivery pipeline and records it — as Test Webhook does. Schedules the next probe in the same
 * transaction, guarded by the probe count read in dueProbes, so of two processes one probes. Null
 * when the webhook changed meanwhile. If the caller dies before recording, the lease runs out and
 * the worker ends the delivery failed without sending (the webhook is off); the next probe follows.
 */
export async function startProbe(
  { db }: Ctx,
  input: {
    probe: DueProbe;
    payload: string;
    body: string;
    now: number;
    schedule: readonly number[];
    leaseMs: number;
  },
): Promise<ClaimedDelivery | null> {
  const { probe, now } = input;
  const eventId = timeOrderedUuid(now);
  const deliveryId = timeOrderedUuid(now);
  const owner = `probe:${deliveryId}`;
  const webhook = await db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('webhooks as w')
      .set({
        probe_count: probe.probesDone + 1,
        next_probe_at: now + probeDelay(input.schedule, probe.probesDone + 1),
      })
      .where('w.id', '=', probe.webhookId)
      .where('w.probe_count', '=', probe.probesDone)
      .where('w.is_enabled', '=', 0)
      .where(systemDisabled)
      .where('w.deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!res) return null;
    await trx
      .insertInto('events')
      .values({
        id: eventId,
        org_id: probe.orgId,
        type: 'test',
        test_run_id: null,
        payload: input.payload,
        created_at: now,
      })
      .execute();
    await trx
      .insertInto('deliveries')
      .values(
        newDeliveryRow({
          id: deliveryId,
          orgId: probe.orgId,
          eventId,
          webhookId: probe.webhookId,
          body: input.body,
          kind: 'probe',
          status: DELIVERY_STATUS.pending,
          nextAttemptAt: now,
          nextTrigger: ATTEMPT_TRIGGER.probe,
          finalAttempt: true,
          lease: { owner, until: now + input.leaseMs },
          testRunId: null,
          failureReason: null,
          now,
        }),
      )
      .execute();
    return res;
  });
  if (!webhook) return null;
  return {
    deliveryId,
    eventId,
    orgId: probe.orgId,
    webhookId: probe.webhookId,
    body: input.body,
    attemptCount: 0,
    retriesDone: 0,
    trigger: 'probe',
    finalAttempt: true,
    leaseOwner: owner,
    target: sendTarget(webhook, now),
  };
}

/**
 * A probe got a 2xx: the webhook is on again, with a fresh start (no failures, no streak), and
 * its next alert says a probe brought it back. Only while the system still has it off.
 */
export async function reenableAfterProbe({ db }: Ctx, webhookId: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('webhooks as w')
    .set({
      is_enabled: 1,
      disabled_reason: null,
      disabled_at: null,
      consecutive_failures: 0,
      failed_streak: 0,
      failing_since: null,
      probe_count: 0,
      next_probe_at: null,
      recovered_by: 'probe',
      updated_at: now,
    })
    .where('w.id', '=', webhookId)
    .where('w.is_enabled', '=', 0)
    .where(systemDisabled)
    .where('w.deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
