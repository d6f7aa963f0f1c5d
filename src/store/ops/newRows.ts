/**
 * The rows the store inserts from more than one place, built in one place: a new API key (with a
 * new organization, or alone) and a new delivery (of a run's event, a Test Webhook send, a probe).
 * Every column is written, so each insert's SQL text is the same whoever makes it.
 */
import { timeOrderedUuid } from '../../domain/ids.js';
import {
  ATTEMPT_TRIGGER,
  type AttemptTrigger,
  DELIVERY_STATUS,
  type DeliveryStatus,
  type WebhookFormat,
} from '../../domain/types.js';
import type { NewApiKey } from '../store.js';

export function newApiKeyRow(orgId: string, key: NewApiKey, now: number) {
  return {
    id: key.id,
    org_id: orgId,
    name: key.name,
    key_hash: key.keyHash,
    prefix: key.prefix,
    created_at: now,
    expires_at: key.expiresAt,
    last_used_at: null,
    revoked_at: null,
  };
}

export interface NewDelivery {
  id: string;
  orgId: string;
  eventId: string;
  webhookId: string;
  /** The exact bytes every attempt sends. */
  body: string;
  kind: 'event' | 'test' | 'probe';
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  nextTrigger: AttemptTrigger;
  /** A one-off (test, probe): no retry after its attempt. */
  finalAttempt: boolean;
  /** Test and probe deliveries are created already leased to the request or prober that sends them. */
  lease: { owner: string; until: number } | null;
  testRunId: string | null;
  /** The run's agent, for an `event` delivery: its queue on a `fifo` webhook. Absent: null. */
  agentId?: string | null;
  failureReason: string | null;
  now: number;
}

export function newDeliveryRow(d: NewDelivery) {
  return {
    id: d.id,
    org_id: d.orgId,
    event_id: d.eventId,
    webhook_id: d.webhookId,
    body: d.body,
    status: d.status,
    attempt_count: 0,
    retries_done: 0,
    next_attempt_at: d.nextAttemptAt,
    next_trigger: d.nextTrigger,
    final_attempt: d.finalAttempt ? 1 : 0,
    lease_owner: d.lease?.owner ?? null,
    lease_until: d.lease?.until ?? null,
    last_http_status: null,
    last_response_time_ms: null,
    kind: d.kind,
    test_run_id: d.testRunId,
    failure_reason: d.failureReason,
    agent_id: d.agentId ?? null,
    // Waiting (docs/delivery.md#ordered-delivery) is decided where the queue is locked: finishEvents.ts.
    held_at: null as number | null,
    created_at: d.now,
    updated_at: d.now,
  };
}

/**
 * An event's delivery to one webhook it is routed to (docs/delivery.md#which-webhook-receives-an-event):
 * pending and due now, or, for a webhook the system turned off, failed at once and never sent: the
 * history shows what was missed, and recover resends it once the endpoint is back.
 */
export function eventDeliveryRow(
  route: { kind: 'send' | 'blocked'; webhook: { id: string; format: WebhookFormat } },
  /** `agentId`: the run's agent, for a run's event: its queue on a `fifo` webhook (fifo.ts). */
  event: { orgId: string; eventId: string; testRunId: string | null; agentId?: string | null },
  rendered: { body(format: WebhookFormat): string },
  now: number,
  dueAt: number = now,
) {
  const blocked = route.kind === 'blocked';
  return newDeliveryRow({
    id: timeOrderedUuid(now),
    orgId: event.orgId,
    eventId: event.eventId,
    webhookId: route.webhook.id,
    body: rendered.body(route.webhook.format),
    kind: 'event',
    status: blocked ? DELIVERY_STATUS.failed : DELIVERY_STATUS.pending,
    nextAttemptAt: blocked ? null : dueAt,
    nextTrigger: ATTEMPT_TRIGGER.scheduled,
    finalAttempt: false,
    lease: null,
    testRunId: event.testRunId,
    agentId: event.agentId ?? null,
    failureReason: blocked ? 'webhook_disabled' : null,
    now,
  });
}
