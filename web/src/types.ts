/**
 * The REST API's objects as the dashboard sees them (docs/api.md and /openapi.json; JSON is snake_case).
 * Times are UTC ISO-8601 strings such as `2026-01-30T10:32:45Z`.
 */

export type WebhookFormat = 'standard' | 'clix' | 'slack' | 'discord' | 'teams';
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['standard', 'clix', 'slack', 'discord', 'teams'];
export const MAX_CUSTOM_HEADERS = 10;
export type { WebhookEventType } from '../../src/domain/types';

import type { WebhookEventType } from '../../src/domain/types';

export type RunStatus = 'pending' | 'running' | 'grading' | 'completed' | 'failed' | 'canceled';
export const RUN_STATUSES: readonly RunStatus[] = [
  'pending',
  'running',
  'grading',
  'completed',
  'failed',
  'canceled',
];

/** Preclinical's agent providers (docs/api.md#agents). */
export const AGENT_PROVIDERS = ['vapi', 'livekit', 'pipecat', 'openai', 'retell', 'elevenlabs'] as const;

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

export type AttemptTrigger = 'scheduled' | 'manual' | 'test' | 'recover' | 'probe';

export type DeliveryKind = 'event' | 'test' | 'probe';
export const DELIVERY_KINDS: readonly DeliveryKind[] = ['event', 'test', 'probe'];

export type WebhookHealth = 'healthy' | 'degraded' | 'disabled';
export type DisabledReason = 'manual' | 'gone' | 'failing';

export interface ListPage {
  total: number;
  limit: number;
  offset: number;
}

export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  agent_id: string | null;
  is_enabled: boolean;
  format: WebhookFormat;
  headers: Record<string, string>;
  has_secret: boolean;
  /** `ed25519`: deliveries carry `v1a` signatures made with a key pair Runhook keeps. */
  signature_scheme: 'hmac-sha256' | 'ed25519';
  /** `whpk_<base64>` for `ed25519`, else null: what receivers verify `v1a` with. */
  public_key: string | null;
  /** `fifo`: one delivery at a time per agent, in event order (docs/delivery.md, "Ordered delivery"). */
  ordering: 'parallel' | 'fifo';
  /** `fifo`: deliveries waiting behind an earlier one that has not succeeded or failed for good yet. */
  waiting_count: number;
  last_triggered_at: string | null;
  consecutive_failures: number;
  /** null: every finished run gets a delivery (docs/api.md, "Webhook filters"). */
  filter: WebhookFilter | null;
  /** The event types it receives (docs/delivery.md#which-webhook-receives-an-event). */
  events: WebhookEventType[];
  health: WebhookHealth;
  disabled_reason: DisabledReason | null;
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookFilter {
  statuses?: Array<'completed' | 'failed' | 'canceled'>;
  below_pass_rate?: number;
}

/** GET /webhooks/{id}/stats: event deliveries only. */
export interface WebhookStats {
  window: '24h' | '7d';
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  success_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  buckets: Array<{ start: string; succeeded: number; failed: number; p95_ms: number | null }>;
}

export interface WebhookTestResult {
  success: boolean;
  message: string;
  http_status: number | null;
  response_time_ms: number | null;
  delivery_id: string | null;
}

export interface Agent {
  id: string;
  name: string;
  description: string | null;
  provider: string | null;
  /** A provider config is stored (write-only: it is never shown). */
  has_config: boolean;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

/** POST /agents/{id}/validate: a shape check of the config, the provider is not contacted. */
export interface AgentValidation {
  valid: boolean;
  message: string;
  details?: { error_code: string; field?: string };
}

export interface TestRun {
  id: string;
  test_run_id: string;
  name: string;
  agent_id: string;
  agent_name: string;
  status: RunStatus;
  passed_count: number;
  failed_count: number;
  error_count: number;
  total_scenarios: number;
  pass_rate: number;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  created_at: string;
  failures: TestFailure[];
  test_suite_id: string | null;
  /** The name of the organization's suite whose id is test_suite_id; null when none is. */
  test_suite_name?: string | null;
  test_mode: 'demo' | 'full' | null;
  max_scenarios: number | null;
  max_turns: number | null;
  /** When retention deleted this run's deliveries; null while they are kept. */
  deliveries_expired_at?: string | null;
  /** The baseline the caller named; null: chosen when the run finished (see `changes`). */
  baseline_run_id?: string | null;
  /** What changed since the baseline run; null without a baseline (docs/api.md#what-changed). */
  changes?: RunChanges | null;
  /** Points awarded / max points × 100 over the scored results; null without scores. */
  score?: number | null;
}

/** One failing test of a run (docs/api.md, "Failures"). */
export interface TestFailure {
  name: string;
  classname: string | null;
  file: string | null;
  message: string | null;
  kind: 'failed' | 'error';
}

export interface Delivery {
  id: string;
  event_id: string;
  webhook_id: string;
  kind: DeliveryKind;
  test_run_id: string | null;
  status: DeliveryStatus;
  failure_reason: string | null;
  attempt_count: number;
  next_attempt_at: string | null;
  /** Held behind an earlier delivery of its `fifo` webhook and agent; its next_attempt_at is null. */
  waiting?: boolean;
  last_http_status: number | null;
  last_response_time_ms: number | null;
  created_at: string;
  updated_at: string;
}

export interface Attempt {
  attempt_number: number;
  trigger: AttemptTrigger;
  started_at: string;
  response_time_ms: number | null;
  http_status: number | null;
  error_class: string | null;
  error_message: string | null;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { headers: Record<string, string>; body: string; truncated: boolean } | null;
}

export interface RunhookEvent {
  id: string;
  type: string;
  payload: unknown;
  test_run_id: string | null;
  created_at: string;
}

export interface DeliveryDetail extends Delivery {
  attempts: Attempt[];
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

export interface CreatedApiKey {
  id: string;
  name: string;
  key: string;
  created_at: string;
  expires_at: string | null;
}

// ---- Scenario results and what changed (docs/api.md#scenario-results) ----

export type ResultStatus = 'failed' | 'error' | 'passed' | 'skipped';
export const RESULT_STATUSES: readonly ResultStatus[] = ['failed', 'error', 'passed', 'skipped'];

/** How a result compares with the baseline run's. */
export type ResultChange = 'new_failure' | 'fixed' | 'still_failing' | 'flaky' | 'new' | 'unchanged';
export const RESULT_CHANGES: readonly ResultChange[] = [
  'new_failure',
  'fixed',
  'still_failing',
  'flaky',
  'new',
  'unchanged',
];

export interface TestRef {
  name: string;
  suite: string | null;
}

export interface RunChanges {
  /** The baseline run's TR- id. */
  baseline_test_run_id: string | null;
  basis: 'results' | 'failures' | 'none';
  new_failures: Array<TestRef & { message: string | null }>;
  fixed: TestRef[];
  flaky: Array<TestRef & { reason: 'passed_on_retry' | 'flipping' }>;
  counts: {
    new_failures: number;
    fixed: number;
    still_failing: number;
    flaky: number;
    new_tests: number;
    missing_tests: number;
  };
  pass_rate_delta: number;
  duration_delta_seconds: number;
  score_delta: number | null;
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
  id: string;
  /** The run's TR- id. */
  test_run_id: string;
  /** The run's UUID. */
  run_id: string;
  /** The test's stable id within its agent. */
  scenario_id: string;
  scenario_name: string;
  suite: string | null;
  status: ResultStatus;
  passed: boolean | null;
  duration_ms: number | null;
  error_message: string | null;
  attempts: number;
  score: Score | null;
  criteria_results: CriterionResult[] | null;
  change: ResultChange;
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
  changes: RunChanges | null;
  summary: ResultSummary;
  scenario_runs: ScenarioRun[];
  total: number;
}

export type TestState = 'failing' | 'flaky' | 'passing';
export const TEST_STATES: readonly TestState[] = ['failing', 'flaky', 'passing'];

/** A test of an agent over its last 20 results. */
export interface AgentTest {
  id: string;
  name: string;
  suite: string | null;
  state: TestState;
  last_status: ResultStatus | null;
  last_run_at: string | null;
  runs: number;
  failures: number;
  fail_rate: number;
  flaky: boolean;
  flips: number;
  last_failure_message: string | null;
  /** Its last 20 outcomes, newest first. */
  recent: ResultStatus[];
}

/** GET /agents/{id}/tests/{test_id}/history. */
export interface TestHistory extends ListPage {
  test: AgentTest;
  results: ScenarioRun[];
}
