/**
 * Events of the types beside a finished run's (docs/delivery.md#event-types): each stored with a
 * delivery per webhook routesForEvent gives it, in the caller's transaction, like a finished run's
 * event. Rows go in bulk (chunks keep each statement under the databases' parameter limits).
 */

import { type OtherEventPayload, testStatusChangedPayload } from '../../domain/eventPayloads.js';
import { timeOrderedUuid } from '../../domain/ids.js';
import { renderOtherEvent } from '../../domain/payloads.js';
import { formatRunId } from '../../domain/runMath.js';
import { DELIVERY_STATUS, type TestRun, type WebhookEventType } from '../../domain/types.js';
import type { SettledStateChange } from './compareWithBaseline.js';
import type { Db } from './context.js';
import { type EventRoute, routesForEvent } from './eventRoutes.js';
import { eventDeliveryRow } from './newRows.js';

export interface NewEvent {
  orgId: string;
  /** The agent it is about (its webhooks first); null: the organization's. */
  agentId: string | null;
  testRunId: string | null;
  payload: OtherEventPayload;
  /** Never sent to this webhook (the one a health event is about). */
  excludeWebhookId?: string | null;
  /** When its deliveries are first due (coalesced health events wait); default now. */
  dueAt?: number;
}

const CHUNK = 500;

/**
 * Stores the events and their deliveries. `queued`: one of them is to be sent (tell the workers
 * after the commit); `eventIds` in the order given, null for one that no webhook receives (not stored).
 */
export async function emitEventsWithIds(
  trx: Db,
  events: readonly NewEvent[],
  now: number,
): Promise<{ queued: boolean; eventIds: Array<string | null> }> {
  if (events.length === 0) return { queued: false, eventIds: [] };
  const routeCache = new Map<string, EventRoute[]>();
  const eventRows = [];
  const deliveryRows = [];
  const eventIds: Array<string | null> = [];
  for (const e of events) {
    const type = e.payload.event as WebhookEventType;
    const key = `${e.agentId}:${type}:${e.excludeWebhookId ?? ''}`;
    let routes = routeCache.get(key);
    if (!routes) {
      routes = await routesForEvent(trx, {
        orgId: e.orgId,
        agentId: e.agentId,
        eventType: type,
        excludeWebhookId: e.excludeWebhookId,
      });
      routeCache.set(key, routes);
    }
    // An event no webhook receives is not stored: nothing would ever read it, and an organization
    // that subscribed to nothing new keeps exactly the rows it had (docs/delivery.md#event-types).
    if (routes.length === 0) {
      eventIds.push(null);
      continue;
    }
    const rendered = renderOtherEvent(e.payload);
    const event = {
      id: timeOrderedUuid(now),
      org_id: e.orgId,
      type,
      test_run_id: e.testRunId,
      payload: rendered.payload,
      created_at: now,
    };
    eventRows.push(event);
    eventIds.push(event.id);
    for (const route of routes) {
      if (rendered.body(route.webhook.format) === null) continue; // a format that cannot carry the type
      deliveryRows.push(
        eventDeliveryRow(
          route,
          { orgId: e.orgId, eventId: event.id, testRunId: e.testRunId },
          { body: (format) => rendered.body(format) ?? '' },
          now,
          e.dueAt ?? now,
        ),
      );
    }
  }
  for (let i = 0; i < eventRows.length; i += CHUNK) {
    await trx
      .insertInto('events')
      .values(eventRows.slice(i, i + CHUNK))
      .execute();
  }
  for (let i = 0; i < deliveryRows.length; i += CHUNK) {
    await trx
      .insertInto('deliveries')
      .values(deliveryRows.slice(i, i + CHUNK))
      .execute();
  }
  return {
    queued: deliveryRows.some((d) => d.status === DELIVERY_STATUS.pending),
    eventIds,
  };
}

/** emitEventsWithIds without the ids: true when there is something to send. */
export async function emitEvents(trx: Db, events: readonly NewEvent[], now: number): Promise<boolean> {
  return (await emitEventsWithIds(trx, events, now)).queued;
}

/**
 * A `test_status_changed` event per test whose state the run changed (docs/delivery.md#event-types),
 * in the run's transaction: once per change, since the state is written in it too.
 */
export async function emitStateChanges(
  trx: Db,
  run: TestRun,
  changes: readonly SettledStateChange[],
  publicUrl: string,
  now: number,
): Promise<boolean> {
  const ref = { id: run.id, testRunId: formatRunId(run.seq) };
  const events = changes.map((c) => ({
    orgId: run.orgId,
    agentId: run.agentId,
    testRunId: run.id,
    payload: testStatusChangedPayload(
      {
        id: String(c.testId),
        name: c.name,
        suite: c.suite === '' ? null : c.suite,
        agent_id: run.agentId,
        agent_name: run.agentName,
        state: c.to,
        previous_state: c.from,
        last_status: c.lastStatus,
        message: c.message,
      },
      ref,
      now,
      publicUrl,
    ),
  }));
  return emitEvents(trx, events, now);
}
