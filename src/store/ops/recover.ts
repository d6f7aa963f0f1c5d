import { sql } from 'kysely';
import { ATTEMPT_TRIGGER, DELIVERY_STATUS } from '../../domain/types.js';
import type { RecoverResult } from '../store.js';
import type { Ctx } from './context.js';
import { lockQueues, settleWebhookQueues, WAITING_DUE_AT } from './fifo.js';

/**
 * Makes every `failed` event delivery of one webhook created in [since, until) pending again, due
 * now, with trigger `recover` and a fresh retry schedule (same event, so the same `webhook-id`).
 * With `dryRun`, only counts them. The webhook must exist and be enabled; the UPDATE tests that
 * again itself, so a webhook turned off meanwhile gets nothing queued. On a `fifo` webhook they
 * queue behind what is unfinished (docs/delivery.md#ordered-delivery).
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
  const count = await db.transaction().execute(async (trx) => {
    // A `fifo` webhook's recovered deliveries join the ends of their queues, in event order; the
    // first of a queue with nothing unfinished is due now (fifo.ts).
    const fifo = (await lockQueues(trx, ctx.hooks, webhookId))?.fifo === true;
    const agent = sql<
      string | null
    >`COALESCE(agent_id, (SELECT r.agent_id FROM test_runs r WHERE r.id = deliveries.test_run_id))`;
    const res = await trx
      .updateTable('deliveries')
      .set(() => ({
        status: DELIVERY_STATUS.pending,
        // Only a delivery with an agent has a queue to wait in (every run has one).
        next_attempt_at: fifo
          ? sql<number>`CASE WHEN ${agent} IS NULL THEN CAST(${now} AS bigint) ELSE CAST(${WAITING_DUE_AT} AS bigint) END`
          : now,
        held_at: fifo
          ? sql<number | null>`CASE WHEN ${agent} IS NULL THEN NULL ELSE CAST(${now} AS bigint) END`
          : null,
        agent_id: agent,
        next_trigger: ATTEMPT_TRIGGER.recover,
        final_attempt: 0,
        retries_done: 0,
        failure_reason: null,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      }))
      .where('id', 'in', q.select('id'))
      .executeTakeFirst();
    if (fifo) await settleWebhookQueues(trx, ctx.hooks, webhookId, now);
    return Number(res.numUpdatedRows);
  });
  if (count > 0) await ctx.hooks.notifyNewWork();
  return { kind: 'done', count };
}
