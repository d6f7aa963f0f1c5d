/**
 * The REST API's objects as the dashboard sees them (docs/api.md and /openapi.json; JSON is snake_case).
 * Times are UTC ISO-8601 strings such as `2026-01-30T10:32:45Z`.
 */

export type WebhookFormat = 'standard' | 'clix' | 'slack' | 'discord' | 'teams';
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['standard', 'clix', 'slack', 'discord', 'teams'];
export const MAX_CUSTOM_HEADERS = 10;

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
  last_triggered_at: string | null;
  consecutive_failures: number;
  /** null: every finished run gets a delivery (docs/api.md, "Webhook filters"). */
  filter: WebhookFilter | null;
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
