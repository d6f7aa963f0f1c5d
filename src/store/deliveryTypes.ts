import type { AlertEvent, AlertTransition } from '../domain/health.js';
import type { AgentId, DeliveryId, EventId, OrgId, RunId, WebhookId, WorkerId } from '../domain/ids.js';
import type {
  ApiKey,
  Attempt,
  AttemptTrigger,
  Delivery,
  DeliveryKind,
  DeliveryOutcome,
  DeliveryStatus,
  Organization,
  RunhookEvent,
  WebhookFormat,
} from '../domain/types.js';

export interface DeliveryFilter {
  webhookId?: WebhookId;
  status?: DeliveryStatus;
  kind?: DeliveryKind;
  testRunId?: RunId;
  /** The event's id: the `webhook-id` header a receiver logged. */
  eventId?: EventId;
}

export interface DeliveryDetail {
  delivery: Delivery;
  event: RunhookEvent;
  attempts: Attempt[];
}

/** Where a claimed delivery is sent. */
export interface DeliveryTarget {
  url: string;
  format: WebhookFormat;
  headers: Record<string, string>;
  secretEnc: string | null;
  /** The replaced secret while its rotation grace lasts: it signs too. */
  previousSecretEnc: string | null;
  /** An ed25519 webhook's sealed private keys, current first, then the replaced one during its grace; [] for hmac. */
  signingKeysEnc?: readonly string[];
}

/** A delivery worker's side of the hand-off (Store.takeHandoffs). */
export interface HandoffTaker {
  workerId: WorkerId;
  leaseMs: number;
  perWebhookCap: number;
  perOrgCap: number;
  /**
   * Reserves a slot for one delivery of `webhookId` about to be written; false when none is free,
   * the worker is stopping, or due work of that webhook (or of any, as far as it knows) waits.
   */
  reserve(webhookId: WebhookId): boolean;
  /** This worker's leases that are not requests in flight, left out of the caps as in a claim. */
  idleIds(): readonly string[];
  /**
   * After the write, once per reserve(): the delivery, committed and leased to this worker, or null
   * when it was not leased to it (no room under a cap, work of that webhook waiting, or nothing was
   * written). The slot is free again either way. Null means the webhook may have a pending
   * delivery: the store tells only other processes (this worker was told here).
   */
  take(delivery: ClaimedDelivery | null, webhookId: WebhookId): void;
}

/** A delivery a worker (or Test Webhook) holds a lease on, with everything needed to send it. */
export interface ClaimedDelivery {
  deliveryId: DeliveryId;
  eventId: EventId;
  orgId: OrgId;
  webhookId: WebhookId;
  body: string;
  attemptCount: number;
  retriesDone: number;
  trigger: AttemptTrigger;
  finalAttempt: boolean;
  /** Who holds the lease; results are only applied while that holder still has it. */
  leaseOwner: WorkerId;
  /** Where to send it, or why it is not sent at all: the webhook was disabled or deleted since. */
  target: DeliveryTarget | { unsendable: 'webhook_disabled' | 'webhook_deleted' };
}

/**
 * One claimed delivery's attempt and what it means, written back in a batch: the attempt as
 * logged (null when nothing was sent) and the outcome the store applies.
 */
export interface DeliveryResult {
  deliveryId: DeliveryId;
  webhookId: WebhookId;
  leaseOwner: WorkerId;
  trigger: AttemptTrigger;
  attempt: Attempt | null;
  outcome: DeliveryOutcome;
  finishedAt: number;
}

export interface OrganizationSummary extends Organization {
  /** Keys that authenticate now (not revoked, not expired). */
  activeKeys: number;
}

/** Keys that authenticate at once, at most, per organization (docs/api.md#conventions). */
export const MAX_ACTIVE_API_KEYS = 100;

export type CreateApiKeyOutcome =
  | { kind: 'created'; key: ApiKey }
  /** Refused: the organization already has MAX_ACTIVE_API_KEYS keys that authenticate. */
  | { kind: 'too_many_keys' };

export type RevokeOutcome =
  | { kind: 'revoked'; key: ApiKey }
  | { kind: 'not_found' }
  /** Refused: it is the organization's last key that still authenticates. */
  | { kind: 'last_active_key' };

/** A webhook's health numbers over a stats window (event deliveries only). */
export interface WebhookStats {
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  p50Ms: number | null;
  p95Ms: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  buckets: Array<{ start: number; succeeded: number; failed: number; p95Ms: number | null }>;
}

export type RecoverResult = { kind: 'done'; count: number } | { kind: 'not_found' } | { kind: 'disabled' };
/** What one retention transaction deleted (docs/operations.md#retention). */
export interface PruneBatch {
  deliveries: number;
  attempts: number;
  events: number;
  /** Runs whose delivery history this batch expired (they get `deliveries_expired_at`). */
  runsMarked: number;
  /** Nothing expired is left. */
  done: boolean;
}

export interface StoreStats {
  /** The database's size: SQLite pages in use and free; PostgreSQL tables with indexes. */
  sizeBytes: number;
  /** When the oldest delivery still pending was created; null when none is. */
  oldestPendingCreatedAt: number | null;
}

/** How long the first answer to an `Idempotency-Key` request is kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The answer to an `Idempotency-Key` request, kept in the same transaction as what the request
 * creates or changes (docs/api.md#idempotency): a crash after the commit leaves the answer to
 * replay, never an object without one. `render` gets the stored object and returns the answer.
 */
export interface IdempotentAnswer<T> {
  orgId: OrgId;
  key: string;
  render(stored: T): { statusCode: number; body: string };
}

/** Thrown (rolling the change back) when another request answered the key first. */
export class IdempotencyKeyTakenError extends Error {}

/** What `claimIdempotencyKey` found (docs/api.md#idempotency). */
export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; statusCode: number; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/** What reconcileHealth changed for one webhook. */
export interface HealthChange {
  webhookId: WebhookId;
  orgId: OrgId;
  /** Turned off automatically (reason `failing`) by this pass. */
  disabled: boolean;
  /** The alert this change raised (queued when alerts are configured). */
  alert: AlertTransition | null;
}

/** A webhook the system turned off whose next probe is due. */
export interface DueProbe {
  webhookId: WebhookId;
  orgId: OrgId;
  format: WebhookFormat;
  probesDone: number;
}

/** An operator alert leased to this process for sending. */
export interface ClaimedAlert {
  id: string;
  event: AlertEvent;
  reason: string | null;
  consecutiveFailures: number;
  attemptCount: number;
  createdAt: number;
  organization: { id: string; name: string };
  webhook: { id: string; url: string; agentId: AgentId | null };
  /** Alerts of this webhook suppressed since the last one sent (RUNHOOK_ALERT_INTERVAL). */
  suppressed: number;
}

/** What one claim got, and when the worker should look again. */
export interface Claim {
  deliveries: ClaimedDelivery[];
  /**
   * When a delivery of a webhook and organization below their caps becomes due, or a lease runs
   * out; null when nothing will. Work held back by a cap is not in it: freed slots wake the worker.
   */
  nextDueAt: number | null;
  /** Due work was left (no free slot, or another worker got there first): look again when slots free. */
  leftOver: boolean;
  /**
   * Due work within the caps was missed for a reason no wake-up will report (another claim held
   * its locks too long, or a dead worker's leases were just freed): look again soon. Work another
   * worker leased first is not missed: that worker's answers free its room.
   */
  missed?: boolean;
  /** The webhooks with due work left unleased (a full webhook or organization included). */
  waitingWebhooks: string[];
  /**
   * With `prefetch`, when this worker holds or now leased deliveries ahead: the live leases of every
   * other worker, per webhook and per organization, counted in the transaction that leased (or
   * after this worker's last lease). A worker sends a delivery it leased ahead only while its own
   * requests in flight stay below the cap less these (docs/architecture.md#leasing-ahead).
   * Undefined: every delivery of this claim is within the rooms, to be sent at once.
   */
  othersLeased?: { webhooks: ReadonlyMap<string, number>; orgs: ReadonlyMap<string, number> };
}

/** One attempt as the live tail shows it (docs/api.md#live-tail). */
export interface AttemptFeedItem {
  /** The attempt's id: time-ordered, the stream's event id. */
  id: string;
  deliveryId: DeliveryId;
  webhookId: WebhookId;
  trigger: string;
  /** The delivery's status when read: right after a live attempt, its status after it. */
  status: DeliveryStatus;
  httpStatus: number | null;
  responseTimeMs: number | null;
  attemptNumber: number;
  errorClass: string | null;
  startedAt: number;
}

export interface AttemptFeedQuery {
  /** Attempts whose ids sort after this one (any string: a time's lower bound works too). */
  afterId: string;
  webhookId?: WebhookId;
  limit: number;
}
