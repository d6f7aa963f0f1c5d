/**
 * The REST API's objects as its answers hold them (docs/api.md and /openapi.json; JSON is snake_case).
 * Times are UTC ISO-8601 strings such as `2026-01-30T10:32:45Z`.
 *
 * Generated from src/http/schemas.ts; do not edit. After changing the schemas, run
 * UPDATE_TYPES=1 npx vitest run test/types/apiTypes.test.ts
 */

export interface Agent {
  id: string;
  name: string;
  description: string | null;
  provider: string | null;
  /** A provider config is stored. The config itself is write-only and never shown. */
  has_config: boolean;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

/** POST /agents/{id}/validate: a shape check of the config, the provider is not contacted. */
export interface AgentValidation {
  valid: boolean;
  message: string;
  details?: {
    error_code:
      | 'MISSING_PROVIDER'
      | 'UNSUPPORTED_PROVIDER'
      | 'MISSING_CONFIG'
      | 'MISSING_CONFIG_FIELD'
      | 'INVALID_CONFIG_FIELD';
    field?: string;
  };
}

/** One failing test of a run (docs/api.md, "Failures"). */
export interface TestFailure {
  name: string;
  classname: string | null;
  file: string | null;
  message: string | null;
  /** `failed` (an assertion failed) or `error` (the test could not run). */
  kind: 'failed' | 'error';
}

/** What changed since the baseline run (docs/api.md#what-changed). */
export interface RunChanges {
  /** The baseline run’s human id (`TR-00041`). */
  baseline_test_run_id: string | null;
  /** `results`: both runs carry scenario results; `failures`: compared by failing test names; `none`: the names are unknown, only the numbers are compared. */
  basis: 'results' | 'failures' | 'none';
  /** Tests failing now that passed (or were not failing) in the baseline; the first 20. */
  new_failures: Array<{
    /** The test’s name. */
    name: string;
    /** Its suite (JUnit’s classname), when given. */
    suite: string | null;
    /** What went wrong. */
    message: string | null;
  }>;
  /** Tests that failed in the baseline and pass now; the first 20. */
  fixed: Array<{
    /** The test’s name. */
    name: string;
    /** Its suite (JUnit’s classname), when given. */
    suite: string | null;
  }>;
  /** Tests whose outcome is not to be trusted; the first 20. */
  flaky: Array<{
    /** The test’s name. */
    name: string;
    /** Its suite (JUnit’s classname), when given. */
    suite: string | null;
    /** `passed_on_retry`: failed, then passed within this run; `flipping`: its outcome changed between passing and failing at least 3 times in its last 10 runs. */
    reason: 'passed_on_retry' | 'flipping';
  }>;
  counts: {
    new_failures: number;
    fixed: number;
    still_failing: number;
    flaky: number;
    /** Tests in this run and not in the baseline (basis `results`). */
    new_tests: number;
    /** Tests in the baseline and not in this run (basis `results`). */
    missing_tests: number;
  };
  /** pass_rate − the baseline’s, 2 decimals. */
  pass_rate_delta: number;
  /** duration_seconds − the baseline’s. */
  duration_delta_seconds: number;
  /** Score (points awarded / max points × 100) − the baseline’s, 2 decimals; null unless both runs have scores. */
  score_delta: number | null;
}

export interface TestRun {
  id: string;
  test_run_id: string;
  name: string;
  agent_id: string;
  agent_name: string;
  status: 'pending' | 'running' | 'grading' | 'completed' | 'failed' | 'canceled';
  passed_count: number;
  failed_count: number;
  error_count: number;
  total_scenarios: number;
  pass_rate: number;
  started_at: string;
  completed_at: string | null;
  duration_seconds: number | null;
  created_at: string;
  failures: TestFailure[];
  test_suite_id: string | null;
  /** The name of the organization's test suite whose id is `test_suite_id`; null when none is. */
  test_suite_name: string | null;
  test_mode: 'demo' | 'full' | null;
  max_scenarios: number | null;
  max_turns: number | null;
  /** When retention (RUNHOOK_RETENTION) deleted this run's deliveries and attempts; null while they are kept. The run itself is never deleted. */
  deliveries_expired_at: string | null;
  /** The baseline the caller named; null: chosen when the run finished (see `changes`). */
  baseline_run_id: string | null;
  /** What changed since the baseline run. */
  changes: RunChanges | null;
  /** Points awarded / max points × 100 over the scored results; null without scores. */
  score: number | null;
  /** The run group it joined; null: none. */
  group: string | null;
  /** The group size this run gave; null: none. */
  group_size: number | null;
}

export interface Score {
  points_awarded: number;
  max_points: number;
}

export interface CriterionResult {
  criterion: string;
  decision: 'MET' | 'NOT_MET' | 'PARTIAL' | 'UNSURE';
  points_awarded?: number | null;
  max_points?: number | null;
  rationale?: string | null;
}

/** One scenario's outcome in one run. */
export interface ScenarioRun {
  /** This result’s id. */
  id: string;
  /** The run’s human id (`TR-00042`). */
  test_run_id: string;
  run_id: string;
  /** The test’s stable id within its agent. */
  scenario_id: string;
  scenario_name: string;
  suite: string | null;
  status: 'failed' | 'error' | 'passed' | 'skipped';
  /** null when skipped. */
  passed: boolean | null;
  duration_ms: number | null;
  error_message: string | null;
  attempts: number;
  score: Score | null;
  criteria_results: CriterionResult[] | null;
  change: 'unchanged' | 'new_failure' | 'fixed' | 'still_failing' | 'flaky' | 'new';
  created_at: string;
  completed_at: string | null;
}

export interface ResultSummary {
  passed: number;
  failed: number;
  error: number;
  skipped: number;
  flaky: number;
}

/** GET /runs/{id}/results. */
export interface RunResults {
  test_run: TestRun;
  /** What changed since the baseline run. */
  changes: RunChanges | null;
  summary: ResultSummary;
  /** The first 50, failed first. */
  scenario_runs: ScenarioRun[];
  total: number;
}

/** A test of an agent over its last 20 results. */
export interface AgentTest {
  /** The test’s id (`scenario_id` of its results). */
  id: string;
  name: string;
  suite: string | null;
  state: 'failing' | 'flaky' | 'passing';
  last_status: 'failed' | 'error' | 'passed' | 'skipped' | null;
  last_run_at: string | null;
  /** Results among its last 20. */
  runs: number;
  /** Failed or errored among its last 20. */
  failures: number;
  /** failures / (runs − skipped) × 100, 2 decimals. */
  fail_rate: number;
  flaky: boolean;
  /** Changes between passing and failing in its last 10 runs. */
  flips: number;
  last_failure_message: string | null;
  /** Its last 20 outcomes, newest first. */
  recent: Array<'failed' | 'error' | 'passed' | 'skipped'>;
}

/** GET /agents/{id}/tests/{test_id}/history. */
export interface TestHistory {
  test: AgentTest;
  results: ScenarioRun[];
  total: number;
  limit: number;
  offset: number;
}

/** Which finished runs get a delivery; null = every one. A run left out by an agent’s webhook gets no delivery (no fallback to the org’s). */
export interface WebhookFilter {
  /** Only runs that ended with one of these statuses. */
  statuses?: Array<'completed' | 'failed' | 'canceled'>;
  /** Only runs whose pass rate (0–100) is below this number. */
  below_pass_rate?: number;
  /** Only runs whose status differs from their baseline’s, or with new failures or fixed tests, or without a baseline. */
  only_changes?: boolean;
}

export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  agent_id: string | null;
  is_enabled: boolean;
  format: 'standard' | 'clix' | 'slack' | 'discord' | 'teams';
  headers: Record<string, string>;
  has_secret: boolean;
  /** `hmac-sha256`: `webhook-signature` carries `v1,` entries made with the secret. `ed25519`: it carries `v1a,` entries made with a key pair Runhook keeps (and `v1,` entries too when a secret is set). */
  signature_scheme: 'hmac-sha256' | 'ed25519';
  /** `ed25519` only: `whpk_<base64 of the raw 32-byte public key>`, what receivers verify `v1a` with; null for `hmac-sha256`. */
  public_key: string | null;
  /** After a key rotation, the replaced public key, whose `v1a` entry is still sent until `previous_public_key_expires_at`; else null. */
  previous_public_key: string | null;
  previous_public_key_expires_at: string | null;
  /** `parallel`: deliveries go out as they come, several at once. `fifo`: one at a time per agent, in event order; the next waits until the one before has succeeded or failed for good. */
  ordering: 'parallel' | 'fifo';
  /** `fifo`: deliveries waiting behind an earlier one of their agent that has not succeeded or failed for good yet (a failing one holds the rest back until its retries end); always 0 for `parallel`. */
  waiting_count: number;
  last_triggered_at: string | null;
  consecutive_failures: number;
  /** `degraded` from RUNHOOK_DEGRADED_AFTER consecutive failed attempts; `disabled` while off. */
  health: 'healthy' | 'degraded' | 'disabled';
  /** `manual` (turned off through the API or dashboard), `gone` (answered 410), `failing` (turned off automatically); null while enabled. */
  disabled_reason: 'manual' | 'gone' | 'failing' | null;
  disabled_at: string | null;
  /** Which finished runs get a delivery; null = every one. A run left out by an agent’s webhook gets no delivery (no fallback to the org’s). */
  filter: WebhookFilter | null;
  /** The event types this webhook receives (docs: delivery.md, "Which webhook receives an event"). Default `["test_run_completed"]`. A `clix` webhook can receive `test_run_completed` only. */
  events: Array<
    | 'test_run_completed'
    | 'test_run_started'
    | 'test_run_group_completed'
    | 'test_status_changed'
    | 'webhook_disabled'
    | 'webhook_recovered'
  >;
  created_at: string;
  updated_at: string;
}

/** POST /webhooks/{id}/test. */
export interface WebhookTestResult {
  success: boolean;
  message: string;
  http_status: number | null;
  response_time_ms: number | null;
  delivery_id: string;
}

/** GET /webhooks/{id}/stats: event deliveries only. */
export interface WebhookStats {
  window: '24h' | '7d';
  /** Event deliveries created in the window (tests and probes are not counted). */
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  /** succeeded / (succeeded + failed) × 100, 2 decimals; null when none has finished. */
  success_rate: number | null;
  /** Median last response time of the finished deliveries. */
  p50_ms: number | null;
  p95_ms: number | null;
  /** Last event delivery that succeeded, ever. */
  last_success_at: string | null;
  /** Last event delivery that ended failed, ever. */
  last_failure_at: string | null;
  /** Oldest first: 24 hourly buckets for 24h, 7 daily (UTC) buckets for 7d; the last is the current one. */
  buckets: Array<{
    start: string;
    succeeded: number;
    failed: number;
    p95_ms: number | null;
  }>;
}

/** POST /webhooks/{id}/recover. */
export interface RecoverResult {
  /** Failed deliveries queued again (or that would be, with dry_run). */
  count: number;
  dry_run: boolean;
}

export interface Delivery {
  id: string;
  event_id: string;
  webhook_id: string;
  kind: 'event' | 'test' | 'probe';
  /** The run an `event` delivery reports; null for `test` and `probe`. */
  test_run_id: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  next_attempt_at: string | null;
  last_http_status: number | null;
  last_response_time_ms: number | null;
  failure_reason: 'attempts_exhausted' | 'gone' | 'webhook_disabled' | 'webhook_deleted' | null;
  /** Pending and waiting behind an earlier delivery of its `fifo` webhook and agent (its `next_attempt_at` is null until then). */
  waiting: boolean;
  created_at: string;
  updated_at: string;
}

export interface Attempt {
  id: string;
  attempt_number: number;
  trigger: 'scheduled' | 'manual' | 'test' | 'recover' | 'probe';
  started_at: string;
  response_time_ms: number | null;
  http_status: number | null;
  error_class:
    | 'timeout'
    | 'connection_refused'
    | 'connection_reset'
    | 'dns'
    | 'tls'
    | 'ssrf_blocked'
    | 'http_status'
    | 'worker_lost'
    | null;
  error_message: string | null;
  request: {
    url: string;
    headers: Record<string, string>;
    body: string;
  };
  response: {
    headers: Record<string, string>;
    body: string;
    truncated: boolean;
  } | null;
}

/** An `attempt` event of GET /deliveries/stream (docs/api.md#live-tail). */
export interface LiveAttempt {
  delivery_id: string;
  webhook_id: string;
  /** What started the attempt, as an attempt's `trigger`. */
  trigger: string;
  /** The delivery's status after this attempt. */
  status: 'pending' | 'succeeded' | 'failed';
  http_status: number | null;
  response_time_ms: number | null;
  attempt_number: number;
  error_class: string | null;
  started_at: string;
}

/** The event a delivery carries. */
export interface RunhookEvent {
  id: string;
  type:
    | 'test_run_completed'
    | 'test_run_started'
    | 'test_run_group_completed'
    | 'test_status_changed'
    | 'webhook_disabled'
    | 'webhook_recovered'
    | 'test';
  test_run_id: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

/** GET /deliveries/{id}. */
export interface DeliveryDetail {
  id: string;
  event_id: string;
  webhook_id: string;
  kind: 'event' | 'test' | 'probe';
  /** The run an `event` delivery reports; null for `test` and `probe`. */
  test_run_id: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  next_attempt_at: string | null;
  last_http_status: number | null;
  last_response_time_ms: number | null;
  failure_reason: 'attempts_exhausted' | 'gone' | 'webhook_disabled' | 'webhook_deleted' | null;
  /** Pending and waiting behind an earlier delivery of its `fifo` webhook and agent (its `next_attempt_at` is null until then). */
  waiting: boolean;
  created_at: string;
  updated_at: string;
  attempts: Attempt[];
  /** The event's payload (the `standard` format); each attempt's request shows the bytes sent. */
  payload: Record<string, unknown>;
  event: RunhookEvent;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** POST /api-keys: the key is shown only here. */
export interface CreatedApiKey {
  id: string;
  name: string;
  /** Shown only in this answer. */
  key: string;
  created_at: string;
  expires_at: string | null;
}

/** A run's statuses, in the order a run goes through them. */
export const RUN_STATUSES = ['pending', 'running', 'grading', 'completed', 'failed', 'canceled'] as const;

/** A delivery's statuses. */
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
