/**
 * Runhook's vocabulary, used the same way in code, API, dashboard and docs.
 *
 * - organization: the tenant. Every other object belongs to exactly one.
 * - API key: a Bearer credential of one organization (`sk_live_` + 40 alphanumerics).
 * - agent: a thing under test. Has test runs and, optionally, its own webhook.
 * - test run: one execution of an agent's scenarios; human id `TR-00042`, numbered per org.
 * - webhook: where to POST when a run ends. Org-level (agent_id null) or per agent.
 * - event: the immutable fact "this run finished", with its `standard` payload.
 * - delivery: one event to one webhook; pending until it succeeds or runs out of retries.
 * - attempt: one HTTP try of a delivery, logged with request and response.
 *
 * Times inside the program are epoch milliseconds (numbers); the API and payloads show them
 * as UTC ISO-8601 to the second.
 */

import type { TestFailure } from './failures.js';
import type { AgentId, DeliveryId, EventId, OrgId, RunId, WebhookId } from './ids.js';
import type { RunChanges } from './payloadSchemas.js';
import type { WebhookFilter } from './webhookFilter.js';

/**
 * Each status vocabulary is one frozen object: TypeScript and SQL (through `sql.lit`) read the
 * same spelling, and the type is derived from it.
 */
export const RUN_STATUS = Object.freeze({
  pending: 'pending',
  running: 'running',
  /** Every scenario has run; the results are being graded. Not final. */
  grading: 'grading',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
} as const);
export type RunStatus = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];
export const FINAL_RUN_STATUSES = [RUN_STATUS.completed, RUN_STATUS.failed, RUN_STATUS.canceled] as const;
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];

export function isFinalRunStatus(status: string): status is FinalRunStatus {
  return (FINAL_RUN_STATUSES as readonly string[]).includes(status);
}

/** The statuses a run has before it ends: it can still be completed or canceled. */
export const ACTIVE_RUN_STATUSES = [RUN_STATUS.pending, RUN_STATUS.running, RUN_STATUS.grading] as const;
export type ActiveRunStatus = (typeof ACTIVE_RUN_STATUSES)[number];

export const WEBHOOK_FORMAT = Object.freeze({
  standard: 'standard',
  clix: 'clix',
  slack: 'slack',
  discord: 'discord',
  teams: 'teams',
} as const);
export type WebhookFormat = (typeof WEBHOOK_FORMAT)[keyof typeof WEBHOOK_FORMAT];
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = Object.values(WEBHOOK_FORMAT);

/** How `webhook-signature` is made (docs/delivery.md#ed25519-signatures). */
export const SIGNATURE_SCHEMES = ['hmac-sha256', 'ed25519'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** How a webhook's deliveries go out (docs/delivery.md#ordered-delivery): all at once, or one at a time per agent. */
export const WEBHOOK_ORDERINGS = ['parallel', 'fifo'] as const;
export type WebhookOrdering = (typeof WEBHOOK_ORDERINGS)[number];

export const DELIVERY_STATUS = Object.freeze({
  pending: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
} as const);
export type DeliveryStatus = (typeof DELIVERY_STATUS)[keyof typeof DELIVERY_STATUS];

/**
 * Why an attempt was made: the retry schedule, a manual redelivery, Test Webhook, a recover
 * request, or a probe of a disabled webhook.
 */
export const ATTEMPT_TRIGGER = Object.freeze({
  scheduled: 'scheduled',
  manual: 'manual',
  test: 'test',
  recover: 'recover',
  probe: 'probe',
} as const);
export type AttemptTrigger = (typeof ATTEMPT_TRIGGER)[keyof typeof ATTEMPT_TRIGGER];
export const ATTEMPT_TRIGGERS: readonly AttemptTrigger[] = Object.values(ATTEMPT_TRIGGER);

/** What a delivery carries: a finished run's event, a Test Webhook sample, or a probe of a disabled webhook. */
export const DELIVERY_KINDS = ['event', 'test', 'probe'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** Why a delivery ended `failed` (docs/receiving-webhooks.md, "When your endpoint fails"). */
export const FAILURE_REASON = Object.freeze({
  /** The retry schedule ran out, or the attempt was a one-off (manual redelivery, Test Webhook). */
  attempts_exhausted: 'attempts_exhausted',
  /** The receiver answered 410 Gone; the webhook is disabled. */
  gone: 'gone',
  /** Nothing was sent: the webhook had been switched off since the event. */
  webhook_disabled: 'webhook_disabled',
  /** Nothing was sent: the webhook had been deleted since the event. */
  webhook_deleted: 'webhook_deleted',
} as const);
export type FailureReason = (typeof FAILURE_REASON)[keyof typeof FAILURE_REASON];
export const FAILURE_REASONS: readonly FailureReason[] = Object.values(FAILURE_REASON);

/** Why a webhook is off: by a person, after a 410, or automatically after a long failure streak. */
export const DISABLED_REASONS = ['manual', 'gone', 'failing'] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

export const WEBHOOK_HEALTH = ['healthy', 'degraded', 'disabled'] as const;
export type WebhookHealth = (typeof WEBHOOK_HEALTH)[number];

/** Why an attempt got no acceptable answer; `http_status` when the receiver answered but not "delivered". */
export const ERROR_CLASS = Object.freeze({
  timeout: 'timeout',
  connection_refused: 'connection_refused',
  connection_reset: 'connection_reset',
  dns: 'dns',
  tls: 'tls',
  ssrf_blocked: 'ssrf_blocked',
  http_status: 'http_status',
  /** The worker holding the attempt died before recording its outcome (its lease ran out). */
  worker_lost: 'worker_lost',
} as const);
export type ErrorClass = (typeof ERROR_CLASS)[keyof typeof ERROR_CLASS];

/**
 * What one attempt (or the decision not to send) means for its delivery. Decided once, where the
 * answer arrives; the store and the metrics read `kind` and never look at a status code again.
 */
export type DeliveryOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; at: number }
  | { kind: 'failed'; reason: FailureReason };

/**
 * The event types a webhook can subscribe to (docs/delivery.md#event-types), in the order the API
 * and the dashboard list them. `test` (Test Webhook) is a delivery kind, not a subscription.
 */
export const WEBHOOK_EVENT_TYPES = [
  'test_run_completed',
  'test_run_started',
  'test_run_group_completed',
  'test_status_changed',
  'webhook_disabled',
  'webhook_recovered',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** What a webhook receives when it is created without `events`: what every webhook received before there were types. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = ['test_run_completed'];
export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(value);
}

export type EventType = WebhookEventType | 'test';

export interface Organization {
  id: OrgId;
  name: string;
  createdAt: number;
}

export interface ApiKey {
  id: string;
  orgId: OrgId;
  name: string;
  /** First characters of the key, safe to show (`sk_live_ab12…`). */
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** When the key was revoked; revoked keys are kept (audit) but never authenticate. */
  revokedAt: number | null;
}

/** A new API key as stored: its hash and display prefix, never the key itself. */
export interface NewApiKey {
  id: string;
  name: string;
  keyHash: string;
  prefix: string;
  expiresAt: number | null;
}

export interface Agent {
  id: AgentId;
  orgId: OrgId;
  name: string;
  /** '' when there is none (the API shows it as null). */
  description: string;
  /** One of AGENT_PROVIDERS (docs/api.md#agents); agents saved before the list may hold another. */
  provider: string | null;
  /** A provider config is stored (encrypted); the config itself is never shown. */
  hasConfig: boolean;
  isActive: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A named selection of scenario ids (Preclinical's test suites); runs name one by `test_suite_id`. */
export interface TestSuite {
  id: string;
  orgId: OrgId;
  name: string;
  /** '' when there is none (the API shows it as null). */
  description: string;
  scenarioIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface TestRun {
  id: RunId;
  orgId: OrgId;
  /** Sequence number within the org; shown as `TR-00042`. */
  seq: number;
  name: string;
  agentId: AgentId;
  agentName: string;
  status: RunStatus;
  passedCount: number;
  failedCount: number;
  errorCount: number;
  /** As given by the caller; null means "passed + failed + errored". */
  totalScenarios: number | null;
  startedAt: number;
  completedAt: number | null;
  createdAt: number;
  /** The failing tests the caller named (at most 50), in the order given. */
  failures: TestFailure[];
  /** Preclinical's run settings, stored and shown as given. */
  testSuiteId: string | null;
  testMode: TestMode | null;
  maxScenarios: number | null;
  maxTurns: number | null;
  /** When retention deleted this run's delivery history; null while it is kept. */
  deliveriesExpiredAt?: number | null;
  /** The baseline run the caller named (docs/api.md#what-changed); absent or null: chosen at finish. */
  baselineRunId?: RunId | null;
  /** What changed since the baseline, computed when the run finished; null without one. */
  changes?: RunChanges;
  /** Points awarded / max points × 100 over its scored results; null without scores. */
  score?: number | null;
  /** The run group it joined (docs/delivery.md#run-groups); absent or null: none. */
  group?: string | null;
  /** How many runs its group expects, as this run gave it; absent or null: not given. */
  groupSize?: number | null;
}

export const TEST_MODES = ['demo', 'full'] as const;
export type TestMode = (typeof TEST_MODES)[number];

export interface Webhook {
  id: WebhookId;
  orgId: OrgId;
  agentId: AgentId | null;
  url: string;
  description: string;
  isEnabled: boolean;
  format: WebhookFormat;
  headers: Record<string, string>;
  hasSecret: boolean;
  signatureScheme: SignatureScheme;
  ordering: WebhookOrdering;
  /**
   * `fifo`: deliveries waiting behind an unfinished earlier one of their agent; 0 when not read
   * (only reads of the webhook itself count them, docs/api.md#ordering).
   */
  waitingCount: number;
  /** ed25519 only: `whpk_<base64 raw key>`, what receivers verify `v1a` with; else null. */
  publicKey: string | null;
  /** The key pair replaced last and when it stops signing; null when none is signing. */
  previousPublicKey: { publicKey: string; until: number } | null;
  lastTriggeredAt: number | null;
  consecutiveFailures: number;
  /** null while enabled. */
  disabledReason: DisabledReason | null;
  disabledAt: number | null;
  /** When the first failed attempt since the last success started; null after a success. */
  failingSince: number | null;
  /** Event deliveries that ended failed in a row since the last success. */
  failedStreak: number;
  /** Which finished runs get a delivery; null = every one. */
  filter: WebhookFilter | null;
  /** The event types it receives (docs/delivery.md#which-webhook-receives-an-event). */
  events: WebhookEventType[];
  createdAt: number;
  updatedAt: number;
}

export interface RunhookEvent {
  id: EventId;
  orgId: OrgId;
  type: EventType;
  testRunId: RunId | null;
  /** The `standard` payload, as JSON text. */
  payload: string;
  createdAt: number;
}

export interface Delivery {
  id: DeliveryId;
  orgId: OrgId;
  eventId: EventId;
  webhookId: WebhookId;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
  lastHttpStatus: number | null;
  lastResponseTimeMs: number | null;
  kind: DeliveryKind;
  /** The run an `event` delivery reports; null for `test` and `probe`. */
  testRunId: RunId | null;
  /** Why it failed; null unless `status` is `failed`. */
  failureReason: FailureReason | null;
  /** Pending, waiting behind an unfinished earlier delivery of its `fifo` webhook and agent. */
  waiting: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface AttemptResponse {
  headers: Record<string, string>;
  body: string;
  truncated: boolean;
}

export interface Attempt {
  id: string;
  deliveryId: DeliveryId;
  attemptNumber: number;
  trigger: AttemptTrigger;
  startedAt: number;
  responseTimeMs: number | null;
  httpStatus: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  request: AttemptRequest;
  response: AttemptResponse | null;
}
