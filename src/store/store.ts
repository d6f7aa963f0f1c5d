// The storage interface (Store, below) and the types its methods take and return.

import type { TestFailure } from '../domain/failures.js';
import type { HealthPolicy } from '../domain/health.js';
import type { AgentId, DeliveryId, OrgId, RunId, WebhookId, WorkerId } from '../domain/ids.js';
import type { ScenarioResult } from '../domain/results.js';
import type { WindowBounds } from '../domain/stats.js';
import type {
  ActiveRunStatus,
  Agent,
  ApiKey,
  Delivery,
  DisabledReason,
  FinalRunStatus,
  NewApiKey,
  Organization,
  RunStatus,
  SignatureScheme,
  TestMode,
  TestRun,
  TestSuite,
  Webhook,
  WebhookEventType,
  WebhookFormat,
  WebhookOrdering,
} from '../domain/types.js';
import type { WebhookFilter } from '../domain/webhookFilter.js';

export * from './deliveryTypes.js';
export type { NewApiKey };

import type {
  AttemptFeedItem,
  AttemptFeedQuery,
  Claim,
  ClaimedAlert,
  ClaimedDelivery,
  CreateApiKeyOutcome,
  DeliveryDetail,
  DeliveryFilter,
  DeliveryResult,
  DueProbe,
  HandoffTaker,
  HealthChange,
  IdempotencyClaim,
  IdempotentAnswer,
  OrganizationSummary,
  PruneBatch,
  RecoverResult,
  RevokeOutcome,
  StoreStats,
  WebhookStats,
} from './deliveryTypes.js';

export type { AgentTest, ScenarioRunFilter, StoredResult } from './resultTypes.js';

import type { AgentTest, ScenarioRunFilter, StoredResult } from './resultTypes.js';

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
  /** The provider config, sealed by the secret box. Absent: none (create) or unchanged (update); null clears it. */
  configEnc?: string | null;
}

export interface TestSuiteInput {
  name: string;
  description: string;
  scenarioIds: string[];
}

export interface RunInput {
  agentId: AgentId;
  name: string;
  totalScenarios: number | null;
  startedAt: number | null;
  status: ActiveRunStatus;
  /** Absent: none. */
  failures?: TestFailure[];
  /** Preclinical's run settings; absent: null. */
  testSuiteId?: string | null;
  testMode?: TestMode | null;
  maxScenarios?: number | null;
  maxTurns?: number | null;
  /** The run to compare with when it finishes (docs/api.md#what-changed); absent: chosen then. */
  baselineRunId?: RunId | null;
  /** The run group to join (docs/delivery.md#run-groups) and the size it expects; absent: none. */
  group?: string | null;
  groupSize?: number | null;
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
  /** Scenario results sent with the finish, checked by the caller (no test twice). */
  results?: ScenarioResult[];
  /**
   * The counts the caller gave: with results, each must agree with the results' (else
   * ResultsRejectedError); one left out is taken from them.
   */
  countsGiven?: readonly ('passed_count' | 'failed_count' | 'error_count')[];
  /** At most this many results a run may hold (RUNHOOK_MAX_RESULTS). */
  maxResults?: number;
  /** Replaces the baseline the run named, if given. */
  baselineRunId?: RunId | null;
}

export interface WebhookInput {
  agentId: AgentId | null;
  url: string;
  description: string;
  isEnabled: boolean;
  format: WebhookFormat;
  headers: Record<string, string>;
  secretEnc: string | null;
  /** Absent: null, every finished run. */
  filter?: WebhookFilter | null;
  /** Absent: `hmac-sha256`. */
  signatureScheme?: SignatureScheme;
  /** Absent: `parallel` (docs/delivery.md#ordered-delivery). */
  ordering?: WebhookOrdering;
  /** The event types it receives; absent: DEFAULT_WEBHOOK_EVENTS. */
  events?: readonly WebhookEventType[];
  /**
   * The ed25519 key pair (docs/delivery.md#ed25519-signatures). In a patch: a new pair rotates
   * (the current one keeps signing for SECRET_ROTATION_GRACE_MS), null drops both.
   */
  signingKey?: { signingKeyEnc: string; publicKey: string } | null;
}

export type WebhookPatch = Partial<Omit<WebhookInput, 'agentId'>>;

/** How long a replaced secret keeps signing next to the new one. */
export const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export class ConflictError extends Error {}
/** Scenario results that cannot be stored: 400 (counts disagree, a test twice) or 413 (over a limit). */
export class ResultsRejectedError extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'too_many',
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}
export class InvalidStateError extends Error {}
/** The run's agent does not exist in the organization. */
export class AgentMissingError extends Error {}

/**
 * What the rest of Runhook may ask of storage. One implementation satisfies it (kyselyStore.ts),
 * its queries in store/ops, over either dialect: SQLite (store/sqlite) or PostgreSQL
 * (store/postgres). Nothing outside store/ knows which one it talks to.
 */
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
  createApiKey(orgId: OrgId, key: NewApiKey, now: number): Promise<CreateApiKeyOutcome>;
  listApiKeys(orgId: OrgId, page: Page): Promise<Paged<ApiKey>>;
  /** `orgId` null looks the key up in every organization (the admin CLI). */
  revokeApiKey(input: {
    id: string;
    orgId: OrgId | null;
    now: number;
    keepLastActiveKey: boolean;
  }): Promise<RevokeOutcome>;
  listOrganizations(now: number): Promise<OrganizationSummary[]>;
  findOrganizations(idOrName: string): Promise<Organization[]>;
  listAllApiKeys(orgId: OrgId): Promise<ApiKey[]>;

  // agents
  createAgent(orgId: OrgId, input: AgentInput, now: number, answer?: IdempotentAnswer<Agent>): Promise<Agent>;
  listAgents(orgId: OrgId, filter: { provider?: string }, page: Page): Promise<Paged<Agent>>;
  getAgent(orgId: OrgId, id: AgentId): Promise<Agent | null>;
  /** The agent and its sealed provider config (null when it has none). */
  getAgentConfig(orgId: OrgId, id: AgentId): Promise<{ agent: Agent; configEnc: string | null } | null>;
  updateAgent(orgId: OrgId, id: AgentId, patch: Partial<AgentInput>, now: number): Promise<Agent | null>;
  /** Deletes the agent and its webhook. */
  deleteAgent(orgId: OrgId, id: AgentId, now: number): Promise<boolean>;

  // test runs
  /** Creates a run that is not final; one created `running` gets its `test_run_started` event in the same transaction. */
  createRun(
    orgId: OrgId,
    input: RunInput,
    publicUrl: string,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  /** Creates a run that is already finished, with its event and delivery, in one transaction. */
  createFinishedRun(
    orgId: OrgId,
    input: Omit<RunInput, 'status'>,
    finish: RunFinish,
    /** The server's public URL, for the payload's `results_url`. */
    publicUrl: string,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  /** Moves a running run to a final status and stores its event and delivery, exactly once. */
  finishRun(
    orgId: OrgId,
    id: RunId,
    finish: RunFinish,
    /** The server's public URL, for the payload's `results_url`. */
    publicUrl: string,
    now: number,
    answer?: IdempotentAnswer<TestRun>,
  ): Promise<TestRun>;
  getRun(orgId: OrgId, id: RunId): Promise<TestRun | null>;
  /** Adds a chunk of scenario results to a run that is not final; how many it now holds. */
  addRunResults(
    orgId: OrgId,
    runId: RunId,
    results: ScenarioResult[],
    maxResults: number,
    now: number,
    answer?: IdempotentAnswer<{ accepted: number; total: number }>,
  ): Promise<{ accepted: number; total: number }>;
  listScenarioRuns(
    orgId: OrgId,
    runId: RunId,
    filter: ScenarioRunFilter,
    page: Page,
  ): Promise<Paged<StoredResult>>;
  getScenarioRun(orgId: OrgId, id: string): Promise<StoredResult | null>;
  /** Counts of a run's results by status, and how many are flaky. */
  summarizeResults(
    orgId: OrgId,
    runId: RunId,
  ): Promise<{ passed: number; failed: number; error: number; skipped: number; flaky: number }>;
  listAgentTests(
    orgId: OrgId,
    agentId: AgentId,
    filter: { state?: 'failing' | 'flaky' | 'passing'; q?: string },
    page: Page,
  ): Promise<Paged<AgentTest>>;
  getAgentTest(orgId: OrgId, agentId: AgentId, testId: string): Promise<AgentTest | null>;
  /** A test's results across its agent's runs, newest run first. */
  testHistory(orgId: OrgId, agentId: AgentId, testId: string, page: Page): Promise<Paged<StoredResult>>;
  getRunBySeq(orgId: OrgId, seq: number): Promise<TestRun | null>;
  listRuns(
    orgId: OrgId,
    filter: { status?: RunStatus; agentId?: AgentId },
    page: Page,
  ): Promise<Paged<TestRun>>;

  /** Moves a pending or running run to `grading`; null when there is no such run. InvalidStateError when it is final. */
  markRunGrading(orgId: OrgId, id: RunId, now: number): Promise<TestRun | null>;

  // test suites
  /** ConflictError when the organization has a suite of that name. */
  createTestSuite(orgId: OrgId, input: TestSuiteInput, now: number): Promise<TestSuite>;
  listTestSuites(orgId: OrgId, page: Page): Promise<Paged<TestSuite>>;
  getTestSuite(orgId: OrgId, id: string): Promise<TestSuite | null>;
  updateTestSuite(
    orgId: OrgId,
    id: string,
    patch: Partial<TestSuiteInput>,
    now: number,
  ): Promise<TestSuite | null>;
  deleteTestSuite(orgId: OrgId, id: string): Promise<boolean>;
  /** The names of those of `ids` that are the organization's suites, by id. */
  testSuiteNames(orgId: OrgId, ids: readonly string[]): Promise<Map<string, string>>;

  // webhooks
  createWebhook(
    orgId: OrgId,
    input: WebhookInput,
    now: number,
    answer?: IdempotentAnswer<Webhook>,
  ): Promise<Webhook>;
  listWebhooks(orgId: OrgId, filter: { agentId?: AgentId }, page: Page): Promise<Paged<Webhook>>;
  getWebhook(orgId: OrgId, id: WebhookId): Promise<Webhook | null>;
  /** Any organization's webhook, by id: for operator commands on the server only. */
  findWebhook(id: WebhookId): Promise<Webhook | null>;
  updateWebhook(orgId: OrgId, id: WebhookId, patch: WebhookPatch, now: number): Promise<Webhook | null>;
  deleteWebhook(orgId: OrgId, id: WebhookId, now: number): Promise<boolean>;
  webhookStats(orgId: OrgId, webhookId: WebhookId, window: WindowBounds): Promise<WebhookStats>;
  /** Failed event deliveries created in [since, until) become pending, due now (trigger `recover`). */
  recoverDeliveries(
    orgId: OrgId,
    webhookId: WebhookId,
    range: { since: number; until: number },
    dryRun: boolean,
    now: number,
  ): Promise<RecoverResult>;

  // deliveries
  listDeliveries(orgId: OrgId, filter: DeliveryFilter, page: Page): Promise<Paged<Delivery>>;
  getDelivery(orgId: OrgId, id: DeliveryId): Promise<DeliveryDetail | null>;
  /** Queues a manual attempt now. Throws InvalidStateError while an attempt is in flight. */
  redeliver(orgId: OrgId, id: DeliveryId, now: number): Promise<Delivery | null>;
  /** Stores a `test` event and its delivery, leased to the caller, who sends it at once. */
  createTestDelivery(
    orgId: OrgId,
    webhookId: WebhookId,
    payload: string,
    body: string,
    now: number,
    leaseMs: number,
  ): Promise<ClaimedDelivery>;

  // the worker's side
  /** Claims due deliveries fairly across organizations and webhooks, within both caps. */
  claimDueDeliveries(input: {
    workerId: WorkerId;
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
    /**
     * RUNHOOK_ORG_CONCURRENCY=auto (docs/operations.md#fairness-and-limits): an organization alone
     * with work may go past `perOrgCap` with this worker's `free` slots, all but `reserve`.
     */
    orgBorrow?: { free: number; reserve: number };
  }): Promise<Claim>;
  extendLeases(workerId: WorkerId, deliveryIds: DeliveryId[], until: number): Promise<void>;
  releaseLeases(workerId: WorkerId, deliveryIds: DeliveryId[]): Promise<void>;
  recordResults(results: DeliveryResult[]): Promise<void>;
  /** The live tail's read: an organization's attempts after an id, oldest first. */
  readAttemptFeed(orgId: OrgId, query: AttemptFeedQuery): Promise<AttemptFeedItem[]>;
  /**
   * Called after attempts are recorded, in this process or another (docs/architecture.md#live-tail),
   * with the smallest attempt id of what was recorded: a reader finds them all after any id below it.
   * An empty id: attempts may have been recorded unannounced (a listener reconnected); read back a
   * little.
   */
  onAttemptsRecorded(listener: (fromId: string) => void): () => void;
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
  /** Deletes up to 1,000 scenario results stored before the cutoff; `done` when none was left. */
  pruneExpiredResults(input: { cutoff: number }): Promise<{ results: number; done: boolean }>;
  /**
   * Completes the run groups whose runs are all final and that nothing joined or finished for
   * `windowMs` (docs/delivery.md#run-groups), each with its one event; how many it completed.
   */
  completeDueGroups(input: { now: number; windowMs: number; publicUrl: string }): Promise<number>;
  /** SQLite: returns most free pages to the filesystem; the pages released. */
  releaseFreePages(): Promise<number>;
  storeStats(): Promise<StoreStats>;

  // Idempotency-Key: the first answer per organization and key, kept 24 hours
  /** Takes the key for this request, or returns the kept answer, a mismatch, or "in progress". */
  claimIdempotencyKey(input: {
    orgId: OrgId;
    key: string;
    fingerprint: string;
    now: number;
    lockMs: number;
  }): Promise<IdempotencyClaim>;
  completeIdempotencyKey(input: {
    orgId: OrgId;
    key: string;
    statusCode: number;
    body: string;
  }): Promise<void>;
  releaseIdempotencyKey(orgId: OrgId, key: string): Promise<void>;
  /** Deletes answers kept since before `before`; returns how many. Also done on every keyed request. */
  pruneIdempotencyKeys(before: number): Promise<number>;

  // endpoint health: auto-disable, alerts, probes
  /** Turns off webhooks that failed long enough and queues one alert per change of health. */
  reconcileHealth(input: {
    policy: HealthPolicy;
    now: number;
    alerts: boolean;
    webhookIds: WebhookId[] | null;
    /**
     * The organization's own `webhook_disabled` / `webhook_recovered` events (docs/delivery.md#endpoint-health-events):
     * rendered with `publicUrl`, at most one per webhook per `intervalMs` (RUNHOOK_ALERT_INTERVAL).
     * Absent: none (callers other than the health monitor).
     */
    tenantEvents?: { publicUrl: string; intervalMs: number };
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
  /** A probe was delivered (the send pipeline's outcome): turns the webhook back on (only while the system has it off). */
  reenableAfterProbe(webhookId: WebhookId, now: number): Promise<boolean>;
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
