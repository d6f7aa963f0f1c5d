import { timeOrderedUuid } from '../../domain/ids.js';
import { ATTEMPT_TRIGGER, DELIVERY_STATUS, type Delivery } from '../../domain/types.js';
import {
  type ClaimedDelivery,
  type DeliveryDetail,
  type DeliveryFilter,
  InvalidStateError,
  type Page,
  type Paged,
} from '../store.js';
import { type Ctx, countAll, type Db, readPage } from './context.js';
import { lockQueues, queueBusy, waitingColumns } from './fifo.js';
import { toAttempt, toDelivery, toEvent } from './mappers.js';
import { newDeliveryRow } from './newRows.js';
import { sendTarget } from './sendTarget.js';

export async function listDeliveries(
  { db }: Ctx,
  orgId: string,
  filter: DeliveryFilter,
  page: Page,
): Promise<Paged<Delivery>> {
  let base = db.selectFrom('deliveries').where('deliveries.org_id', '=', orgId);
  if (filter.webhookId) base = base.where('deliveries.webhook_id', '=', filter.webhookId);
  if (filter.status) base = base.where('deliveries.status', '=', filter.status);
  if (filter.kind) base = base.where('deliveries.kind', '=', filter.kind);
  if (filter.testRunId) base = base.where('deliveries.test_run_id', '=', filter.testRunId);
  if (filter.eventId) base = base.where('deliveries.event_id', '=', filter.eventId);
  return readPage(
    base
      .selectAll('deliveries')
      .orderBy('deliveries.created_at', 'desc')
      .orderBy('deliveries.id', 'desc')
      .limit(page.limit)
      .offset(page.offset),
    base.select(countAll),
    toDelivery,
  );
}

export async function getDelivery({ db }: Ctx, orgId: string, id: string): Promise<DeliveryDetail | null> {
  const row = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const [event, attempts] = await Promise.all([
    db.selectFrom('events').selectAll().where('id', '=', row.event_id).executeTakeFirstOrThrow(),
    db.selectFrom('attempts').selectAll().where('delivery_id', '=', id).orderBy('attempt_number').execute(),
  ]);
  return {
    delivery: toDelivery(row),
    event: toEvent(event),
    attempts: attempts.map((a) => toAttempt(a, row.body)),
  };
}

export async function redeliver(ctx: Ctx, orgId: string, id: string, now: number): Promise<Delivery | null> {
  const result = await ctx.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('deliveries')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    if (row.lease_until !== null && Number(row.lease_until) >= now) {
      throw new InvalidStateError('an attempt of this delivery is in flight; try again when it has finished');
    }
    if (row.status === DELIVERY_STATUS.pending && row.held_at !== null) {
      throw new InvalidStateError(
        'this delivery waits behind an earlier one of its webhook (ordering fifo); it is sent when that one has succeeded or failed for good',
      );
    }
    // A finished delivery of a `fifo` webhook sent again joins its queue at the end (fifo.ts).
    const agentId = row.agent_id ?? (await runAgent(trx, row.test_run_id));
    const finished = row.status !== DELIVERY_STATUS.pending;
    const queue =
      finished && row.kind === 'event' && agentId !== null
        ? await lockQueues(trx, ctx.hooks, row.webhook_id)
        : null;
    const waits =
      queue?.fifo === true && agentId !== null && (await queueBusy(trx, ctx.hooks, row.webhook_id, agentId));
    const updated = await trx
      .updateTable('deliveries')
      .set({
        status: DELIVERY_STATUS.pending,
        next_attempt_at: now,
        next_trigger: ATTEMPT_TRIGGER.manual,
        failure_reason: null,
        // A finished delivery gets one manual attempt; a pending one keeps its retry schedule.
        final_attempt: row.status === DELIVERY_STATUS.pending ? row.final_attempt : 1,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
        agent_id: agentId,
        ...(waits && waitingColumns(now)),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toDelivery(updated);
  });
  if (result && !result.waiting) await ctx.hooks.notifyNewWork();
  return result;
}

/** The agent of a run's delivery made before deliveries kept it (docs/delivery.md#ordered-delivery). */
export async function runAgent(trx: Db, testRunId: string | null): Promise<string | null> {
  if (testRunId === null) return null;
  const run = await trx
    .selectFrom('test_runs')
    .select('agent_id')
    .where('id', '=', testRunId)
    .executeTakeFirst();
  return run?.agent_id ?? null;
}

/**
 * Stores a `test` event and its delivery, leased to the caller for `leaseMs`. If the caller dies
 * before recording the result, a worker sends it once when the lease ends, so nothing is left pending.
 */
export async function createTestDelivery(
  { db }: Ctx,
  orgId: string,
  webhookId: string,
  payload: string,
  body: string,
  now: number,
  leaseMs: number,
): Promise<ClaimedDelivery> {
  const eventId = timeOrderedUuid(now);
  const deliveryId = timeOrderedUuid(now);
  const owner = `test:${deliveryId}`;
  const webhook = await db.transaction().execute(async (trx) => {
    const w = await trx
      .selectFrom('webhooks')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', webhookId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('events')
      .values({ id: eventId, org_id: orgId, type: 'test', test_run_id: null, payload, created_at: now })
      .execute();
    await trx
      .insertInto('deliveries')
      .values(
        newDeliveryRow({
          id: deliveryId,
          orgId,
          eventId,
          webhookId,
          body,
          kind: 'test',
          status: DELIVERY_STATUS.pending,
          nextAttemptAt: now,
          nextTrigger: ATTEMPT_TRIGGER.test,
          finalAttempt: true,
          lease: { owner, until: now + leaseMs },
          testRunId: null,
          failureReason: null,
          now,
        }),
      )
      .execute();
    return w;
  });
  return {
    deliveryId,
    eventId,
    orgId,
    webhookId,
    body,
    attemptCount: 0,
    retriesDone: 0,
    trigger: ATTEMPT_TRIGGER.test,
    finalAttempt: true,
    leaseOwner: owner,
    target: sendTarget(webhook, now),
  };
}
