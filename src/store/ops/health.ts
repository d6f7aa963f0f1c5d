import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { webhookHealthPayload } from '../../domain/eventPayloads.js';
import {
  type AlertState,
  type AlertTransition,
  alertTransition,
  type HealthPolicy,
  shouldAutoDisable,
} from '../../domain/health.js';
import type { DisabledReason } from '../../domain/types.js';
import type { HealthChange } from '../store.js';
import type { Ctx, Db } from './context.js';
import { emitEventsWithIds } from './emitEvents.js';

/**
 * Brings webhooks' health in line with their counters (docs/receiving-webhooks.md, "When your
 * endpoint fails"): turns off the ones whose failure streak is long and old enough (`failing`),
 * and raises one operator alert per change of health. Alert state is kept on the webhook and the
 * alert row is written in the transaction that changes it, so every change gets exactly one alert
 * even if a process dies in between (the next pass finds the change still unreported). Every write
 * is guarded by the value it read, so two processes reconciling at once raise one alert, not two.
 *
 * `webhookIds` null looks at every webhook that is not plainly healthy.
 */
export async function reconcileHealth(
  ctx: Ctx,
  input: {
    policy: HealthPolicy;
    now: number;
    alerts: boolean;
    webhookIds: string[] | null;
    tenantEvents?: { publicUrl: string; intervalMs: number };
  },
): Promise<HealthChange[]> {
  const { db } = ctx;
  const { policy, now } = input;
  let queued = false;
  if (input.webhookIds !== null && input.webhookIds.length === 0) return [];
  const rows = await healthRows(db, input.webhookIds);
  const changes: HealthChange[] = [];
  for (const row of rows) {
    const facts = {
      isEnabled: Number(row.is_enabled) === 1,
      consecutiveFailures: Number(row.consecutive_failures),
      disabledReason: (Number(row.is_enabled) === 1
        ? null
        : (row.disabled_reason ?? 'gone')) as DisabledReason | null,
      failingSince: row.failing_since === null ? null : Number(row.failing_since),
      failedStreak: Number(row.failed_streak),
      recoveredBy: row.recovered_by,
    };
    const disable = shouldAutoDisable(facts, policy, now);
    if (disable) {
      facts.isEnabled = false;
      facts.disabledReason = 'failing';
    }
    const alerted = row.alert_state as AlertState;
    const transition = alertTransition(alerted, facts, policy.degradedAfter);
    if (!disable && transition === null) continue;
    const change = await db.transaction().execute(async (trx) => {
      let disabled = false;
      if (disable) {
        const res = await trx
          .updateTable('webhooks')
          .set({
            is_enabled: 0,
            disabled_reason: 'failing',
            disabled_at: now,
            probe_count: 0,
            next_probe_at: null,
            updated_at: now,
          })
          .where('id', '=', row.id)
          .where('is_enabled', '=', 1)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        disabled = Number(res.numUpdatedRows) === 1;
        if (!disabled) return null; // someone else changed it first; the next pass sees the new state
      }
      let raised: AlertTransition | null = null;
      if (transition !== null) {
        const res = await trx
          .updateTable('webhooks')
          .set({ alert_state: transition.state, recovered_by: null })
          .where('id', '=', row.id)
          .where('alert_state', '=', alerted)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) {
          raised = transition;
          const tenant = input.tenantEvents && tenantEventOf(transition, alerted);
          if (tenant && input.tenantEvents) {
            queued =
              (await emitHealthEvent(trx, row, tenant, facts.consecutiveFailures, input.tenantEvents, now)) ||
              queued;
          }
          if (input.alerts) {
            await trx
              .insertInto('alerts')
              .values({
                id: randomUUID(),
                org_id: row.org_id,
                webhook_id: row.id,
                event: transition.event,
                reason: transition.reason,
                consecutive_failures: facts.consecutiveFailures,
                status: 'pending',
                attempt_count: 0,
                next_attempt_at: now,
                lease_until: null,
                last_http_status: null,
                last_error: null,
                created_at: now,
                updated_at: now,
              })
              .execute();
          }
        }
      }
      return { webhookId: row.id, orgId: row.org_id, disabled, alert: raised };
    });
    if (change) changes.push(change);
  }
  if (queued) await ctx.hooks.notifyNewWork();
  return changes;
}

/** The webhooks reconcileHealth looks at, with what it reads of each. */
function healthRows(db: Db, webhookIds: string[] | null) {
  let q = db
    .selectFrom('webhooks')
    .select([
      'id',
      'org_id',
      'is_enabled',
      'consecutive_failures',
      'disabled_reason',
      'failing_since',
      'failed_streak',
      'alert_state',
      'recovered_by',
      'agent_id',
      'url',
      'description',
      'format',
      'health_event_id',
      'health_event_due_at',
    ])
    .where('deleted_at', 'is', null);
  q =
    webhookIds !== null
      ? q.where('id', 'in', webhookIds)
      : q.where((eb) =>
          eb.or([
            eb('consecutive_failures', '>', 0),
            eb('failed_streak', '>', 0),
            eb('alert_state', '<>', 'healthy'),
            eb('is_enabled', '=', 0),
          ]),
        );
  return q.execute();
}

/**
 * The organization's own event for an alert transition (docs/delivery.md#endpoint-health-events):
 * `webhook_disabled` when the system turned it off, `webhook_recovered` when it comes back from
 * that; a webhook that was only degraded has nothing to tell the organization.
 */
function tenantEventOf(
  transition: AlertTransition,
  alerted: AlertState,
): { type: 'webhook_disabled' | 'webhook_recovered'; reason: string } | null {
  if (transition.event === 'webhook.disabled') return { type: 'webhook_disabled', reason: transition.reason };
  if (transition.event === 'webhook.recovered' && alerted === 'disabled') {
    return { type: 'webhook_recovered', reason: transition.reason === 'probe' ? 'probe' : 'manual' };
  }
  return null;
}

/**
 * Stores a health event about `row` for the organization's other webhooks, coalesced like the
 * operator's alerts: due RUNHOOK_ALERT_INTERVAL after the previous one about the same webhook, and
 * when that previous one is still waiting unsent, it is dropped and this one, which tells the
 * current state, takes its turn. In the transaction that records the transition: once per transition.
 */
async function emitHealthEvent(
  trx: Db,
  row: {
    id: string;
    org_id: string;
    agent_id: string | null;
    url: string;
    description: string;
    format: string;
    health_event_id: string | null;
    health_event_due_at: number | string | null;
  },
  event: { type: 'webhook_disabled' | 'webhook_recovered'; reason: string },
  consecutiveFailures: number,
  settings: { publicUrl: string; intervalMs: number },
  now: number,
): Promise<boolean> {
  const previousDue = row.health_event_due_at === null ? null : Number(row.health_event_due_at);
  let dueAt = now;
  if (settings.intervalMs > 0 && previousDue !== null) {
    dueAt = Math.max(now, previousDue + settings.intervalMs);
    if (row.health_event_id !== null && previousDue > now) {
      // Still waiting, so never sent: replaced by this one, at its time.
      const dropped = await trx
        .deleteFrom('deliveries')
        .where('event_id', '=', row.health_event_id)
        .where('status', '=', 'pending')
        .where('attempt_count', '=', 0)
        .where('lease_owner', 'is', null)
        .executeTakeFirst();
      if (Number(dropped.numDeletedRows) > 0) dueAt = previousDue;
    }
  }
  const payload = webhookHealthPayload(
    event.type,
    { id: row.id, description: row.description, agentId: row.agent_id, url: row.url, format: row.format },
    event.reason,
    consecutiveFailures,
    now,
    settings.publicUrl,
  );
  const { queued, eventIds } = await emitEventsWithIds(
    trx,
    [{ orgId: row.org_id, agentId: row.agent_id, testRunId: null, payload, excludeWebhookId: row.id, dueAt }],
    now,
  );
  await trx
    .updateTable('webhooks')
    .set({ health_event_id: eventIds[0] ?? null, health_event_due_at: dueAt })
    .where('id', '=', row.id)
    .execute();
  return queued;
}

/** Webhooks turned off, by reason, for /metrics. */
export async function countDisabledWebhooks({ db }: Ctx): Promise<Partial<Record<DisabledReason, number>>> {
  const rows = await db
    .selectFrom('webhooks')
    .select(['disabled_reason', sql<number | string>`count(*)`.as('n')])
    .where('is_enabled', '=', 0)
    .where('deleted_at', 'is', null)
    .groupBy('disabled_reason')
    .execute();
  const counts: Partial<Record<DisabledReason, number>> = {};
  for (const r of rows) {
    const reason = (r.disabled_reason ?? 'gone') as DisabledReason;
    counts[reason] = (counts[reason] ?? 0) + Number(r.n);
  }
  return counts;
}
