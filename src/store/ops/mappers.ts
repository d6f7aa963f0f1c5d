import type { Selectable } from 'kysely';
import type { TestFailure } from '../../domain/failures.js';
import type { RunChanges } from '../../domain/payloadSchemas.js';
import {
  type Agent,
  type ApiKey,
  type Attempt,
  type AttemptRequest,
  type AttemptTrigger,
  DEFAULT_WEBHOOK_EVENTS,
  DELIVERY_STATUS,
  type Delivery,
  type DeliveryKind,
  type DeliveryStatus,
  type DisabledReason,
  type ErrorClass,
  type EventType,
  type FailureReason,
  isWebhookEventType,
  type RunhookEvent,
  type RunStatus,
  type TestMode,
  type TestRun,
  type TestSuite,
  type Webhook,
  type WebhookEventType,
  type WebhookFormat,
} from '../../domain/types.js';
import {
  type FilterJson,
  filterFromJson,
  filterToJson,
  type WebhookFilter,
} from '../../domain/webhookFilter.js';
import type {
  AgentsTable,
  ApiKeysTable,
  AttemptsTable,
  DeliveriesTable,
  EventsTable,
  TestRunsTable,
  TestSuitesTable,
  WebhooksTable,
} from '../schema.js';

/** Row → domain object mappers; the only place that knows both spellings. */

/** A webhook filter as stored: JSON text in the API's spelling. */
export function filterToText(filter: WebhookFilter | null): string | null {
  const json = filterToJson(filter);
  return json === null ? null : JSON.stringify(json);
}

const filterFromText = (text: string | null): WebhookFilter | null =>
  text === null ? null : filterFromJson(JSON.parse(text) as FilterJson);

/** A number column as a number (PostgreSQL's bigint arrives as text). */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

export function toApiKey(r: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    prefix: r.prefix,
    createdAt: num(r.created_at),
    expiresAt: numOrNull(r.expires_at),
    lastUsedAt: numOrNull(r.last_used_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function toAgent(r: Selectable<AgentsTable>): Agent {
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    description: r.description,
    provider: r.provider,
    hasConfig: r.config_enc !== null && r.config_enc !== undefined,
    isActive: num(r.is_active) === 1,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toTestSuite(r: Selectable<TestSuitesTable>): TestSuite {
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    description: r.description,
    scenarioIds: JSON.parse(r.scenario_ids) as string[],
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toRun(r: Selectable<TestRunsTable>): TestRun {
  return {
    id: r.id,
    orgId: r.org_id,
    seq: num(r.seq),
    name: r.name,
    agentId: r.agent_id,
    agentName: r.agent_name,
    status: r.status as RunStatus,
    passedCount: num(r.passed_count),
    failedCount: num(r.failed_count),
    errorCount: num(r.error_count),
    totalScenarios: numOrNull(r.total_scenarios),
    startedAt: num(r.started_at),
    completedAt: numOrNull(r.completed_at),
    createdAt: num(r.created_at),
    failures: r.failures === null ? [] : (JSON.parse(r.failures) as TestFailure[]),
    testSuiteId: r.test_suite_id,
    testMode: r.test_mode as TestMode | null,
    maxScenarios: numOrNull(r.max_scenarios),
    maxTurns: numOrNull(r.max_turns),
    deliveriesExpiredAt: numOrNull(r.deliveries_expired_at),
    baselineRunId: r.baseline_run_id ?? null,
    changes: r.changes ? (JSON.parse(r.changes) as RunChanges) : null,
    score: r.score === null || r.score === undefined ? null : Number(r.score),
    group: r.group_name ?? null,
    groupSize: numOrNull(r.group_size ?? null),
  };
}

/** A webhook's stored `events`; types this version does not know are left out. */
export function eventsFromText(text: string): WebhookEventType[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter(isWebhookEventType) : [...DEFAULT_WEBHOOK_EVENTS];
}

export function toWebhook(r: Selectable<WebhooksTable>): Webhook {
  return {
    id: r.id,
    orgId: r.org_id,
    agentId: r.agent_id,
    url: r.url,
    description: r.description,
    isEnabled: num(r.is_enabled) === 1,
    format: r.format as WebhookFormat,
    headers: JSON.parse(r.headers) as Record<string, string>,
    hasSecret: r.secret_enc !== null,
    signatureScheme: r.signature_scheme === 'ed25519' ? 'ed25519' : 'hmac-sha256',
    ordering: r.ordering === 'fifo' ? 'fifo' : 'parallel',
    waitingCount: num((r as { waiting_count?: number | string }).waiting_count ?? 0),
    publicKey: r.public_key,
    previousPublicKey:
      r.previous_public_key !== null && r.previous_signing_key_until !== null
        ? { publicKey: r.previous_public_key, until: num(r.previous_signing_key_until) }
        : null,
    lastTriggeredAt: numOrNull(r.last_triggered_at),
    consecutiveFailures: num(r.consecutive_failures),
    // Every way of turning a webhook off records a reason; rows older than the column read as a 410's.
    disabledReason: num(r.is_enabled) === 1 ? null : ((r.disabled_reason ?? 'gone') as DisabledReason),
    disabledAt: num(r.is_enabled) === 1 ? null : numOrNull(r.disabled_at),
    failingSince: numOrNull(r.failing_since),
    failedStreak: num(r.failed_streak),
    filter: filterFromText(r.filter),
    events: eventsFromText(r.events),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toEvent(r: Selectable<EventsTable>): RunhookEvent {
  return {
    id: r.id,
    orgId: r.org_id,
    type: r.type as EventType,
    testRunId: r.test_run_id,
    payload: r.payload,
    createdAt: num(r.created_at),
  };
}

export function toDelivery(r: Selectable<DeliveriesTable>): Delivery {
  return {
    id: r.id,
    orgId: r.org_id,
    eventId: r.event_id,
    webhookId: r.webhook_id,
    status: r.status as DeliveryStatus,
    attemptCount: num(r.attempt_count),
    // A waiting delivery has no due time of its own (docs/delivery.md#ordered-delivery).
    nextAttemptAt:
      r.status === DELIVERY_STATUS.pending && numOrNull(r.held_at) === null
        ? numOrNull(r.next_attempt_at)
        : null,
    lastHttpStatus: numOrNull(r.last_http_status),
    lastResponseTimeMs: numOrNull(r.last_response_time_ms),
    kind: r.kind as DeliveryKind,
    testRunId: r.test_run_id,
    failureReason:
      r.status === DELIVERY_STATUS.failed
        ? ((r.failure_reason ?? impliedFailureReason(r)) as FailureReason)
        : null,
    waiting: r.status === DELIVERY_STATUS.pending && numOrNull(r.held_at) !== null,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/**
 * The reason of a failed delivery whose row stores none (written before reasons were stored;
 * migration 0005 labelled only event deliveries), read from what the row shows. Every writer now
 * stores the reason it decided (docs/architecture.md#one-send-pipeline).
 */
function impliedFailureReason(r: Selectable<DeliveriesTable>): FailureReason {
  if (num(r.attempt_count) === 0) return 'webhook_disabled';
  return numOrNull(r.last_http_status) === 410 ? 'gone' : 'attempts_exhausted';
}

/**
 * An attempt's request as stored (docs/architecture.md#attempt-rows): its URL and headers. The
 * body is not repeated, since every attempt sends its delivery's body, which the delivery row
 * keeps; reading fills it back in. Rows written before keep their own copy and read as they are.
 */
export function attemptRequestText(request: Pick<AttemptRequest, 'url' | 'headers'>): string {
  return JSON.stringify({ url: request.url, headers: request.headers });
}

function attemptRequest(text: string, deliveryBody: string): AttemptRequest {
  const stored = JSON.parse(text) as { url: string; headers: Record<string, string>; body?: string };
  if (stored.body !== undefined) return stored as AttemptRequest;
  return { url: stored.url, headers: stored.headers, body: deliveryBody };
}

/** An attempt row of the delivery whose body is `deliveryBody`. */
export function toAttempt(r: Selectable<AttemptsTable>, deliveryBody: string): Attempt {
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    attemptNumber: num(r.attempt_number),
    trigger: r.trigger as AttemptTrigger,
    startedAt: num(r.started_at),
    responseTimeMs: numOrNull(r.response_time_ms),
    httpStatus: numOrNull(r.http_status),
    errorClass: r.error_class as ErrorClass | null,
    errorMessage: r.error_message,
    request: attemptRequest(r.request, deliveryBody),
    response: r.response === null ? null : JSON.parse(r.response),
  };
}
