/**
 * The events a run's finish makes (docs/delivery.md#event-types): the run's own with a delivery
 * per webhook it goes to, its group's, and one per test whose state it changed.
 *
 * Used by other ops: `insertFinishEvents` (finishRun.ts, the interactive path) and `eventRows`
 * (finishedRunAtOnce.ts, which builds the same rows for the one-unit path).
 */
import { timeOrderedUuid } from '../../domain/ids.js';
import { renderEvent, standardPayload } from '../../domain/payloads.js';
import { effectiveTotal, passRate } from '../../domain/runMath.js';
import { DELIVERY_STATUS, type FinalRunStatus, type TestRun } from '../../domain/types.js';
import { filterMatches, type WebhookFilter } from '../../domain/webhookFilter.js';
import type { settleFinishedRun } from './compareWithBaseline.js';
import type { Ctx, Db } from './context.js';
import { emitStateChanges } from './emitEvents.js';
import { type EventRoute, routesForEvent } from './eventRoutes.js';
import { lockQueues, queueBusy, waitingColumns } from './fifo.js';
import { eventDeliveryRow } from './newRows.js';
import { settleGroupAfterFinish } from './runGroups.js';

/**
 * Every event a run's finish makes, in its transaction: the run's own, its group's when the run
 * completes it (docs/delivery.md#run-groups), and a `test_status_changed` per test whose state
 * it changed. True when there is something to send.
 */
export async function insertFinishEvents(
  ctx: Ctx,
  trx: Db,
  settled: Awaited<ReturnType<typeof settleFinishedRun>>,
  publicUrl: string,
  now: number,
): Promise<boolean> {
  const own = await insertEvent(ctx, trx, settled.run, publicUrl, now, settled.notable);
  const group = await settleGroupAfterFinish(trx, settled.run, publicUrl, now);
  const states = await emitStateChanges(trx, settled.run, settled.stateChanges, publicUrl, now);
  return own || group || states;
}

/**
 * Stores the run's event and a delivery per webhook it goes to (pending, or failed at once for a
 * webhook the system turned off). Same transaction as the run. True when there is something to send.
 */
async function insertEvent(
  ctx: Ctx,
  trx: Db,
  run: TestRun,
  publicUrl: string,
  now: number,
  notable: boolean,
): Promise<boolean> {
  const routes = await routesForEvent(trx, {
    orgId: run.orgId,
    agentId: run.agentId,
    eventType: 'test_run_completed',
  });
  const out = eventRows(run, routes, publicUrl, now, notable);
  await trx.insertInto('events').values(out.event).execute();
  let sent = false;
  const deliveries = [];
  for (const d of out.deliveries) {
    let delivery = d;
    const webhook = routes.find((r) => r.webhook.id === d.webhook_id)?.webhook;
    // A `fifo` webhook: the delivery waits behind an unfinished one of the agent's queue (fifo.ts).
    if (d.status === DELIVERY_STATUS.pending && webhook?.ordering === 'fifo') {
      const locked = await lockQueues(trx, ctx.hooks, d.webhook_id);
      if (locked?.fifo && (await queueBusy(trx, ctx.hooks, d.webhook_id, run.agentId))) {
        delivery = { ...d, ...waitingColumns(now) };
      }
    }
    deliveries.push(delivery);
    if (delivery.status === DELIVERY_STATUS.pending && delivery.held_at === null) sent = true;
  }
  if (deliveries.length > 0) await trx.insertInto('deliveries').values(deliveries).execute();
  return sent;
}

/**
 * A finished run's event row and a delivery row per webhook its routes send it to (pending, or
 * failed at once for a webhook the system turned off); `queued` when there is something to send.
 * One reading for the interactive path and the one-unit path.
 */
export function eventRows(
  run: TestRun,
  routes: readonly EventRoute[],
  publicUrl: string,
  now: number,
  notable: boolean,
) {
  const rendered = renderEvent(standardPayload(run, now, publicUrl), now);
  // Time-ordered ids (docs/architecture.md#attempt-rows): a drain, which goes in creation order,
  // then reads and writes the delivery and attempt indexes keyed by them at their ends.
  const event = {
    id: timeOrderedUuid(now),
    org_id: run.orgId,
    type: 'test_run_completed' as const,
    test_run_id: run.id,
    payload: rendered.payload,
    created_at: now,
  };
  // A webhook whose filter leaves the run out gets no delivery: no fallback to the org's.
  const deliveries = routes
    .filter((route) => runPassesFilter(route.webhook.filter, run, notable))
    .map((route) =>
      eventDeliveryRow(
        route,
        { orgId: run.orgId, eventId: event.id, testRunId: run.id, agentId: run.agentId },
        rendered,
        now,
      ),
    );
  return { event, deliveries, queued: deliveries.some((d) => d.status === DELIVERY_STATUS.pending) };
}

function runPassesFilter(filter: WebhookFilter | null, run: TestRun, notable: boolean): boolean {
  const total = effectiveTotal(run.passedCount, run.failedCount, run.errorCount, run.totalScenarios);
  return filterMatches(filter, run.status as FinalRunStatus, passRate(run.passedCount, total), notable);
}
