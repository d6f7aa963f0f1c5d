/**
 * What the rest of Runhook may ask of storage. Two implementations satisfy it: SQLite
 * (store/sqlite) and PostgreSQL (store/postgres), sharing their queries through Kysely
 * (store/ops). Nothing outside store/ knows which one it talks to.
 */

import type { TestFailure } from '../domain/failures.js';
import type { AlertEvent, AlertTransition, HealthPolicy } from '../domain/health.js';
import type { WindowBounds } from '../domain/stats.js';
import type {
  Agent,
  ApiKey,
  Attempt,
  AttemptTrigger,
  Delivery,
  DeliveryKind,
  DeliveryOutcome,
  DeliveryStatus,
  DisabledReason,
  ErrorClass,
  FinalRunStatus,
  NewApiKey,
  Organization,
  RunhookEvent,
  RunStatus,
  TestMode,
  TestRun,
  Webhook,
  WebhookFormat,
} from '../domain/types.js';
import type { WebhookFilter } from '../domain/webhookFilter.js';

export type { NewApiKey };

export interface Page {
  limit: number;
  offset: number;
}

export interface Paged<T> {
  items: T[];
  total: number;
}

export interface AgentInput {
  name: string;
  description: string;
  provider: string | null;
  isActive: boolean;
}

export interface RunInput {
  agentId: string;
  name: string;
  totalScenarios: number | null;
  startedAt: number | null;
  status: 'pending' | 'running';
  /** Absent: none. */
  failures?: TestFailure[];
  /** Preclinical's run settings; absent: null. */
  testSuiteId?: string | null;
  testMode?: TestMode | null;
  maxScenarios?: number | null;
  maxTurns?: number | null;
}

export interface RunFinish {
  status: FinalRunStatus;
  passedCount: number;
  failedCount: number;
  errorCount: number;
  /** null keeps what the run already has. */
  totalScenarios: number | null;
  completedAt: number;
  /** Absent keeps the failures the run already has. */
  failures?: TestFailure[];
}

export interface WebhookInput {
  agentId: string | null;
  url: string;
  description: string;
  isEnabled: boolean;
  format: WebhookFormat;
  headers: Record<string, string>;
  secretEnc: string | null;
  /** Absent: null, every finished run. */
  filter?: WebhookFilter | null;
}

export type WebhookPatch = Partial<Omit<WebhookInput, 'agentId'>>;

/** How long a replaced secret keeps signing next to the new one. */
export const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export interface DeliveryFilter {
  webhookId?: string;
  status?: DeliveryStatus;
  kind?: DeliveryKind;
  testRunId?: string;
  /** The event's id: the `webhook-id` header a receiver logged. */
  eventId?: string;
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
}

/** A delivery a worker (or Test Webhook) holds a lease on, with everything needed to send it. */
/** A delivery worker's side of the hand-off (Store.takeHandoffs). */
export interface HandoffTaker {
  workerId: string;
  leaseMs: number;
  perWebhookCap: number;
  perOrgCap: number;
  /**
   * Reserves a slot for one delivery of `webhookId` about to be written; false when none is free,
   * the worker is stopping, or due work of that webhook (or of any, as far as it knows) waits.
   */
  reserve(webhookId: string): boolean;
  /** This worker's leases that are not requests in flight, left out of the caps as in a claim. */
  idleIds(): readonly string[];
  /**
   * After the write, once per reserve(): the delivery, committed and leased to this worker, or null
   * when it was not leased to it (no room under a cap, work of that webhook waiting, or nothing was
   * written). The slot is free again either way. Null means the webhook may have a pending
   * delivery: the store tells only other processes (this worker was told here).
   */
  take(delivery: ClaimedDelivery | null, webhookId: string): void;
}

export interface ClaimedDelivery {
  deliveryId: string;
  eventId: string;
  orgId: string;
  webhookId: string;
  body: string;
  attemptCount: number;
  retriesDone: number;
  trigger: AttemptTrigger;
  finalAttempt: boolean;
  /** Who holds the lease; results are only applied while that holder still has it. */
  leaseOwner: string;
  /** Where to send it, or why it is not sent at all: the webhook was disabled or deleted since. */
  target: DeliveryTarget | { unsendable: 'webhook_disabled' | 'webhook_deleted' };
}

/**
 * One claimed delivery's attempt and what it means, written back in a batch: the attempt as
 * logged (null when nothing was sent) and the outcome the store applies.
 */
export interface DeliveryResult {
  deliveryId: string;
  webhookId: string;
  leaseOwner: string;
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
  orgId: string;
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
  webhookId: string;
  orgId: string;
  /** Turned off automatically (reason `failing`) by this pass. */
  disabled: boolean;
  /** The alert this change raised (queued when alerts are configured). */
  alert: AlertTransition | null;
}

/** A webhook the system turned off whose next probe is due. */
export interface DueProbe {
  webhookId: string;
  orgId: string;
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
  webhook: { id: string; url: string; agentId: string | null };
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

export class ConflictError extends Error {}
export class InvalidStateError extends Error {}
/** The run's agent does not exist in the organization. */
export class AgentMissingError extends Error {}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  // organizations and API keys
  countOrganizations(): Promise<number>;
  createOrganization(name: string, key: NewApiKey, now: number): Promise<Organization>;
  findApiKey(keyHash: string, now: number): Promise<ApiKey | null>;
  touchApiKey(id: string, now: number): Promise<void>;
  /** Refused past MAX_ACTIVE_API_KEYS active keys (counted and inserted in one transaction). */
  createApiKey(orgId: string, key: NewApiKey, now: number): Promise<CreateApiKeyOutcome>;
  listApiKeys(orgId: string, page: Page): Promise<Paged<ApiKey>>;
  /** `orgId` null looks the key up in every organization (the admin CLI). */
  revokeApiKey(input: {
    id: string;
    orgId: string | null;
    now: number;
    keepLastActiveKey: boolean;
  }): Promise<RevokeOutcome>;
  listOrganizations(now: number): Promise<OrganizationSummary[]>;
  findOrganizations(idOrName: string): Promise<Organization[]>;
  listAllApiKeys(orgId: string): Promise<ApiKey[]>;

  // agents
  createAgent(
    orgId: string,
    input: AgentInput,
    now: number,
    answer?: IdempotentAnswer<Agent>,
  ): Promise<Agent>;
  listAgents(orgId: string, page: Page): Promise<Paged<Agent>>;
  getAgent(orgId: string, id: string): Promise<Agent | null>;
  updateAgent(orgId: string, id: string, patch: Partial<AgentInput>, now: number): Promise<Agent | null>;
  /** Deletes the agent and its webhook. */
  deleteAgent(orgId: string, id: string, now: number): Promise<boolean>;

  // test runs
  createRun(
    orgId: string,
    input: RunInput,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  /** Creates a run that is already finished, with its event and delivery, in one transaction. */
  createFinishedRun(
    orgId: string,
    input: Omit<RunInput, 'status'>,
    finish: RunFinish,
    /** The server's public URL, for the payload's `results_url`. */
    publicUrl: string,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  /** Moves a running run to a final status and stores its event and delivery, exactly once. */
  finishRun(
    orgId: string,
    id: string,
    finish: RunFinish,
    /** The server's public URL, for the payload's `results_url`. */
    publicUrl: string,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  getRun(orgId: string, id: string): Promise<TestRun | null>;
  getRunBySeq(orgId: string, seq: number): Promise<TestRun | null>;
  listRuns(
    orgId: string,
    filter: { status?: RunStatus; agentId?: string },
    page: Page,
  ): Promise<Paged<TestRun>>;

  // webhooks
  createWebhook(
    orgId: string,
    input: WebhookInput,
    now: number,
    answer?: IdempotentAnswer<Webhook>,
  ): Promise<Webhook>;
  listWebhooks(orgId: string, filter: { agentId?: string }, page: Page): Promise<Paged<Webhook>>;
  getWebhook(orgId: string, id: string): Promise<Webhook | null>;
  /** Any organization's webhook, by id: for operator commands on the server only. */
  findWebhook(id: string): Promise<Webhook | null>;
  updateWebhook(orgId: string, id: string, patch: WebhookPatch, now: number): Promise<Webhook | null>;
  deleteWebhook(orgId: string, id: string, now: number): Promise<boolean>;
  webhookStats(orgId: string, webhookId: string, window: WindowBounds): Promise<WebhookStats>;
  /** Failed event deliveries created in [since, until) become pending, due now (trigger `recover`). */
  recoverDeliveries(
    orgId: string,
    webhookId: string,
    range: { since: number; until: number },
    dryRun: boolean,
    now: number,
  ): Promise<RecoverResult>;

  // deliveries
  listDeliveries(orgId: string, filter: DeliveryFilter, page: Page): Promise<Paged<Delivery>>;
  getDelivery(orgId: string, id: string): Promise<DeliveryDetail | null>;
  /** Queues a manual attempt now. Throws InvalidStateError while an attempt is in flight. */
  redeliver(orgId: string, id: string, now: number): Promise<Delivery | null>;
  /** Stores a `test` event and its delivery, leased to the caller, who sends it at once. */
  createTestDelivery(
    orgId: string,
    webhookId: string,
    payload: string,
    body: string,
    now: number,
    leaseMs: number,
  ): Promise<ClaimedDelivery>;

  // the worker's side
  /** Claims due deliveries fairly across organizations and webhooks, within both caps. */
  claimDueDeliveries(input: {
    workerId: string;
    now: number;
    limit: number;
    leaseMs: number;
    perWebhookCap: number;
    perOrgCap: number;
    /**
     * This worker's leases that are not requests in flight, so not counted against either cap:
     * settled (the answer is in, the result not recorded yet) and queued (leased ahead, not sent).
     */
    idleIds?: readonly string[];
    /**
     * Lease ahead (docs/architecture.md#leasing-ahead): with slots left after the fair share, up to
     * `perWebhook` due deliveries per webhook beyond its room, less what `queued` says this worker
     * holds of it already, and at most `room` in all. The claim then also reports every other
     * worker's leases (`othersLeased`).
     */
    prefetch?: { perWebhook: number; room: number; queued: ReadonlyMap<string, number> };
  }): Promise<Claim>;
  extendLeases(workerId: string, deliveryIds: string[], until: number): Promise<void>;
  releaseLeases(workerId: string, deliveryIds: string[]): Promise<void>;
  recordResults(results: DeliveryResult[]): Promise<void>;
  /** Called whenever new work may be due (an event or redelivery in this or another process). */
  onNewWork(listener: () => void): () => void;
  /**
   * A delivery worker in this process offers to take new deliveries as they are committed
   * (docs/architecture.md#hand-off): a finished run's delivery is then stored already leased to it
   * when its webhook and organization are below their caps and nothing of that webhook is waiting,
   * and goes to the worker without a claim (SQLite: leased in the run's own write; PostgreSQL: in a
   * batch right after its commit). Returns the function that withdraws the offer. The last offer wins.
   */
  takeHandoffs(taker: HandoffTaker): () => void;
  countPending(now: number): Promise<{ pending: number; oldestDueAt: number | null }>;

  // retention and upkeep
  /** Runs `sweep` as the only sweeper (an advisory lock on PostgreSQL); null when another holds it. */
  withRetentionLock<T>(sweep: () => Promise<T>): Promise<T | null>;
  /** Deletes one transaction's worth of expired rows (at most 1,000). */
  pruneExpired(input: { cutoff: number; now: number }): Promise<PruneBatch>;
  /** SQLite: returns most free pages to the filesystem; the pages released. */
  releaseFreePages(): Promise<number>;
  storeStats(): Promise<StoreStats>;
  // Idempotency-Key: the first answer per organization and key, kept 24 hours
  /** Takes the key for this request, or returns the kept answer, a mismatch, or "in progress". */
  claimIdempotencyKey(input: {
    orgId: string;
    key: string;
    fingerprint: string;
    now: number;
    lockMs: number;
  }): Promise<IdempotencyClaim>;
  completeIdempotencyKey(input: {
    orgId: string;
    key: string;
    statusCode: number;
    body: string;
  }): Promise<void>;
  releaseIdempotencyKey(orgId: string, key: string): Promise<void>;
  /** Deletes answers kept since before `before`; returns how many. Also done on every keyed request. */
  pruneIdempotencyKeys(before: number): Promise<number>;
  // endpoint health: auto-disable, alerts, probes
  /** Turns off webhooks that failed long enough and queues one alert per change of health. */
  reconcileHealth(input: {
    policy: HealthPolicy;
    now: number;
    alerts: boolean;
    webhookIds: string[] | null;
  }): Promise<HealthChange[]>;
  dueProbes(input: { now: number; firstDelayMs: number; limit: number }): Promise<DueProbe[]>;
  /** Creates a probe delivery leased to the caller and schedules the next probe; null if the webhook changed. */
  startProbe(input: {
    probe: DueProbe;
    payload: string;
    body: string;
    now: number;
    schedule: readonly number[];
    leaseMs: number;
  }): Promise<ClaimedDelivery | null>;
  /** A probe got a 2xx: turns the webhook back on (only while the system has it off). */
  reenableAfterProbe(webhookId: string, now: number): Promise<boolean>;
  claimDueAlerts(input: {
    now: number;
    limit: number;
    leaseMs: number;
    intervalMs: number;
  }): Promise<ClaimedAlert[]>;
  /** Deletes up to `limit` finished alerts last updated before `cutoff`; returns how many. */
  pruneAlerts(input: { cutoff: number; limit: number }): Promise<number>;
  recordAlertAttempt(input: {
    id: string;
    status: 'pending' | 'sent' | 'failed';
    nextAttemptAt: number | null;
    httpStatus: number | null;
    error: string | null;
    now: number;
  }): Promise<void>;
  nextAlertDueAt(): Promise<number | null>;
  countDisabledWebhooks(): Promise<Partial<Record<DisabledReason, number>>>;
}
