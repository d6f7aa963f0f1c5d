/**
 * Table shapes as both dialects store them. Times are epoch milliseconds (bigint), booleans
 * are 0/1 integers and JSON is text, so the same queries read the same values on SQLite and
 * PostgreSQL.
 */
import type { Generated } from 'kysely';

export interface OrganizationsTable {
  id: string;
  name: string;
  run_seq: Generated<number>;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  key_hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AgentsTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  provider: string | null;
  is_active: number;
  created_at: number;
  updated_at: number;
  /** The provider config, sealed by the secret box (JSON inside); null = none. */
  config_enc: Generated<string | null>;
}

export interface TestSuitesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** JSON array of scenario ids, in the order given. */
  scenario_ids: string;
  created_at: number;
  updated_at: number;
}

export interface TestRunsTable {
  id: string;
  org_id: string;
  seq: number;
  name: string;
  agent_id: string;
  agent_name: string;
  status: string;
  passed_count: number;
  failed_count: number;
  error_count: number;
  total_scenarios: number | null;
  started_at: number;
  completed_at: number | null;
  created_at: number;
  updated_at: number;
  /** JSON array of failing tests; null (runs from before it existed) reads as none. */
  failures: string | null;
  test_suite_id: string | null;
  test_mode: string | null;
  max_scenarios: number | null;
  max_turns: number | null;
  /** When retention deleted the run's deliveries (docs/operations.md#retention); null while they exist. */
  deliveries_expired_at: number | null;
  /** The baseline the caller named (docs/api.md#what-changed); null: chosen when the run finishes. */
  baseline_run_id: string | null;
  /** JSON of what changed since the baseline, written when the run finished; null without a baseline. */
  changes: string | null;
  /** Points awarded / max points × 100 over the run's scored results; null without scores. */
  score: number | null;
  /** The run group it joined (docs/delivery.md#run-groups) and the size it gave; null: none. */
  group_name: string | null;
  group_size: number | null;
}

/** A run group of an organization and whether its event was created (docs/delivery.md#run-groups). */
export interface RunGroupsTable {
  org_id: string;
  name: string;
  /** The largest `group_size` its runs gave; null: none gave one (the window decides). */
  group_size: number | null;
  created_at: number;
  /** When a run of the group last joined or finished. */
  last_activity_at: number;
  /** Set once, in the transaction that creates the group's event; null while open. */
  completed_at: number | null;
  event_id: string | null;
}

/** A test of an agent, identified by (suite, name); its recent outcomes (docs/api.md#test-history). */
export interface TestsTable {
  id: Generated<number>;
  org_id: string;
  agent_id: string;
  suite: string;
  name: string;
  created_at: number;
  /** The last 20 outcomes, newest first: P passed, R passed on retry, F failed, E error, S skipped. */
  recent: string;
  state: string;
  last_status: string | null;
  last_run_at: number | null;
  last_failure_message: string | null;
}

/** The integer key of a run that has scenario results. */
export interface ResultRunsTable {
  key: Generated<number>;
  run_id: string;
  org_id: string;
  result_count: number;
  created_at: number;
}

/** One scenario result: a test in a run. Status and change are codes (domain/results.ts). */
export interface TestResultsTable {
  id: Generated<number>;
  run_key: number;
  test_id: number;
  status: number;
  change: number;
  duration_ms: number | null;
  attempts: number | null;
  message: string | null;
  score_awarded: number | null;
  score_max: number | null;
  criteria: string | null;
}

export interface WebhooksTable {
  id: string;
  org_id: string;
  agent_id: string | null;
  /** Unique; no longer written (several webhooks per scope), kept for rows of older versions. */
  scope_key: string | null;
  url: string;
  description: string;
  is_enabled: number;
  format: string;
  headers: string;
  secret_enc: string | null;
  /** The secret replaced last, still signing until previous_secret_until (rotation grace). */
  previous_secret_enc: string | null;
  previous_secret_until: number | null;
  /** `hmac-sha256` or `ed25519` (docs/delivery.md#ed25519-signatures). */
  signature_scheme: Generated<string>;
  /** `parallel` or `fifo`: one delivery at a time per agent (docs/delivery.md#ordered-delivery). */
  ordering: Generated<string>;
  /** ed25519 only: the sealed PKCS#8 private key (base64 DER) and its `whpk_` public key. */
  signing_key_enc: Generated<string | null>;
  public_key: Generated<string | null>;
  /** The key pair replaced last, still signing until previous_signing_key_until. */
  previous_signing_key_enc: Generated<string | null>;
  previous_public_key: Generated<string | null>;
  previous_signing_key_until: Generated<number | null>;
  last_triggered_at: number | null;
  consecutive_failures: number;
  /** JSON `{statuses, below_pass_rate}`; null = every finished run. */
  filter: string | null;
  /** JSON array of the event types it receives (docs/delivery.md#which-webhook-receives-an-event). */
  events: Generated<string>;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  /** Why the webhook is off (`manual`, `gone`, `failing`); null while enabled. */
  disabled_reason: Generated<string | null>;
  disabled_at: Generated<number | null>;
  /** When the first failed attempt since the last success started; null after a success. */
  failing_since: Generated<number | null>;
  /** Event deliveries that ended failed, in a row, since the last success. */
  failed_streak: Generated<number>;
  /** Probes sent since the system turned the webhook off, and when the next is due. */
  probe_count: Generated<number>;
  next_probe_at: Generated<number | null>;
  /** The health an operator alert was last raised for: `healthy`, `degraded` or `disabled`. */
  alert_state: Generated<string>;
  /** Who re-enabled a system-disabled webhook (`probe`, `manual`), until the alert says so. */
  recovered_by: Generated<string | null>;
  /** The last endpoint-health event about it sent to the organization's webhooks, and when it was due. */
  health_event_id: Generated<string | null>;
  health_event_due_at: Generated<number | null>;
}

export interface EventsTable {
  id: string;
  org_id: string;
  type: string;
  test_run_id: string | null;
  payload: string;
  created_at: number;
}

export interface DeliveriesTable {
  id: string;
  org_id: string;
  event_id: string;
  webhook_id: string;
  /** The exact bytes sent on every attempt, rendered in the webhook's format when the event was created. */
  body: string;
  status: string;
  attempt_count: number;
  /** Retries made by the schedule so far (manual and test attempts do not count). */
  retries_done: number;
  next_attempt_at: number | null;
  next_trigger: string;
  /** 1 when the next attempt is a one-off (a redelivery of a finished delivery): no retry after it. */
  final_attempt: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_http_status: number | null;
  last_response_time_ms: number | null;
  created_at: number;
  updated_at: number;
  /** `event` (a finished run), `test` (Test Webhook) or `probe` (checking a disabled webhook). */
  kind: Generated<string>;
  /** The run an `event` delivery reports; null for tests and probes. */
  test_run_id: Generated<string | null>;
  /** Why a failed delivery failed; null otherwise. */
  failure_reason: Generated<string | null>;
  /** The agent of an `event` delivery's run: its queue on a `fifo` webhook; null for tests and probes. */
  agent_id: Generated<string | null>;
  /**
   * When a delivery of a `fifo` webhook started waiting behind an unfinished one of its queue
   * (its place in the queue); null when it is not waiting (docs/delivery.md#ordered-delivery).
   */
  held_at: Generated<number | null>;
}

export interface AttemptsTable {
  id: string;
  delivery_id: string;
  attempt_number: number;
  trigger: string;
  started_at: number;
  response_time_ms: number | null;
  http_status: number | null;
  error_class: string | null;
  error_message: string | null;
  request: string;
  response: string | null;
}

/** Operator alerts (RUNHOOK_ALERT_URL), queued in the transaction of the transition they report. */
export interface AlertsTable {
  id: string;
  org_id: string;
  webhook_id: string;
  event: string;
  reason: string | null;
  consecutive_failures: number;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** The first answer to a request with an `Idempotency-Key`, kept 24 h per organization and key. */
export interface IdempotencyKeysTable {
  org_id: string;
  key: string;
  fingerprint: string;
  /** Null while the first request is still being answered. */
  status_code: number | null;
  response: string | null;
  created_at: number;
  locked_until: number;
}

export interface Database {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  agents: AgentsTable;
  test_runs: TestRunsTable;
  webhooks: WebhooksTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  alerts: AlertsTable;
  idempotency_keys: IdempotencyKeysTable;
  tests: TestsTable;
  result_runs: ResultRunsTable;
  test_results: TestResultsTable;
  test_suites: TestSuitesTable;
  run_groups: RunGroupsTable;
}
