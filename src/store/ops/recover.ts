import { sql } from 'kysely';
import { ATTEMPT_TRIGGER, DELIVERY_STATUS } from '../../domain/types.js';
import type { RecoverResult } from '../store.js';
import type { Ctx } from './context.js';

/**
 * Makes every `failed` event delivery of one webhook created in [since, until) pending again, due
 * now, with trigger `recover` and a fresh retry schedule (same event, so the same `webhook-id`).
 * With `dryRun`, only counts them. The webhook must exist and be enabled; the UPDATE tests that
 * again itself, so a webhook turned off meanwhile gets nothing queued.
 */
export async function recoverDeliveries(
  ctx: Ctx,
  orgId: string,
  webhookId: string,
  range: { since: number; until: number },
  dryRun: boolean,
  now: number,
): Promise<RecoverResult> {
  const { db } = ctx;
  const webhook = await db
    .selectFrom('webhooks')
    .select(['is_enabled'])
    .where('org_id', '=', orgId)
    .where('id', '=', webhookId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!webhook) return { kind: 'not_found' };
  if (Number(webhook.is_enabled) !== 1) return { kind: 'disabled' };
  let q = db
    .selectFrom('deliveries')
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .where('kind', '=', 'event')
    .where('status', '=', DELIVERY_STATUS.failed)
    .where('created_at', '>=', range.since)
    .where('created_at', '<', range.until);
  if (dryRun) {
    const row = await q.select(sql<number | string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    return { kind: 'done', count: Number(row.n) };
  }
  q = q.where(({ exists, selectFrom }) =>
    exists(
      selectFrom('webhooks')
        .select('id')
        .where('id', '=', webhookId)
        .where('is_enabled', '=', 1)
        .where('deleted_at', 'is', null),
    ),
  );
  const res = await db
    .updateTable('deliveries')
    .set({
      status: DELIVERY_STATUS.pending,
      next_attempt_at: now,
      next_trigger: ATTEMPT_TRIGGER.recover,
      final_attempt: 0,
      retries_done: 0,
      failure_reason: null,
      lease_owner: null,
      lease_until: null,
      updated_at: now,
    })
    .where('id', 'in', q.select('id'))
    .executeTakeFirst();
  const count = Number(res.numUpdatedRows);
  if (count > 0) await ctx.hooks.notifyNewWork();
  return { kind: 'done', count };
}
