/** Domain objects → API JSON (field names as in docs/api.md, times as ISO-8601 to the second). */

import { charStatus, countFlips } from '../domain/changes.js';
import { webhookHealth } from '../domain/health.js';
import { durationSeconds, effectiveTotal, formatRunId, passRate } from '../domain/runMath.js';
import { toIso } from '../domain/time.js';
import type {
  Agent,
  ApiKey,
  Attempt,
  Delivery,
  RunhookEvent,
  TestRun,
  TestSuite,
  Webhook,
} from '../domain/types.js';
import { filterToJson } from '../domain/webhookFilter.js';
import type { AgentTest, StoredResult } from '../store/store.js';

const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

export function presentAgent(a: Agent) {
  return {
    id: a.id,
    name: a.name,
    description: a.description === '' ? null : a.description,
    provider: a.provider,
    has_config: a.hasConfig,
    is_active: a.isActive,
    created_at: toIso(a.createdAt),
    updated_at: toIso(a.updatedAt),
  };
}

/** `testSuiteName`: the name of the organization's suite whose id is the run's `test_suite_id`, if any. */
export function presentRun(r: TestRun, testSuiteName: string | null = null) {
  const total = effectiveTotal(r.passedCount, r.failedCount, r.errorCount, r.totalScenarios);
  return {
    id: r.id,
    test_run_id: formatRunId(r.seq),
    name: r.name,
    agent_id: r.agentId,
    agent_name: r.agentName,
    status: r.status,
    passed_count: r.passedCount,
    failed_count: r.failedCount,
    error_count: r.errorCount,
    total_scenarios: total,
    pass_rate: passRate(r.passedCount, total),
    started_at: toIso(r.startedAt),
    completed_at: iso(r.completedAt),
    duration_seconds: r.completedAt === null ? null : durationSeconds(r.startedAt, r.completedAt),
    created_at: toIso(r.createdAt),
    failures: r.failures,
    test_suite_id: r.testSuiteId,
    test_suite_name: testSuiteName,
    test_mode: r.testMode,
    max_scenarios: r.maxScenarios,
    max_turns: r.maxTurns,
    deliveries_expired_at: iso(r.deliveriesExpiredAt ?? null),
    baseline_run_id: r.baselineRunId ?? null,
    changes: r.changes ?? null,
    score: r.score ?? null,
    group: r.group ?? null,
    group_size: r.groupSize ?? null,
  };
}

/** A scenario result in Preclinical's shape (docs/api.md#scenario-results). */
export function presentScenarioRun(r: StoredResult) {
  return {
    id: r.id,
    test_run_id: r.testRunId,
    run_id: r.runId,
    scenario_id: r.testId,
    scenario_name: r.name,
    suite: r.suite === '' ? null : r.suite,
    status: r.status,
    passed: r.status === 'skipped' ? null : r.status === 'passed',
    duration_ms: r.durationMs,
    error_message: r.message,
    attempts: r.attempts,
    score: r.score,
    criteria_results: r.criteria,
    change: r.change,
    created_at: toIso(r.createdAt),
    completed_at: iso(r.completedAt),
  };
}

/** A test with its last 20 outcomes (docs/api.md#test-history). */
export function presentAgentTest(t: AgentTest) {
  const recent = [...t.recent].map(charStatus);
  const ran = recent.filter((s) => s !== 'skipped').length;
  const failures = recent.filter((s) => s === 'failed' || s === 'error').length;
  const flips = countFlips(t.recent);
  return {
    id: t.id,
    name: t.name,
    suite: t.suite === '' ? null : t.suite,
    state: t.state,
    last_status: t.lastStatus,
    last_run_at: iso(t.lastRunAt),
    runs: recent.length,
    failures,
    fail_rate: ran === 0 ? 0 : Math.round((failures / ran) * 10000) / 100,
    flaky: t.state === 'flaky',
    flips,
    // The store keeps '' for a failure that had no message; the API says null, as error_message does.
    last_failure_message: t.lastFailureMessage === '' ? null : t.lastFailureMessage,
    recent,
  };
}

/** The 201 answer of POST /runs: the run and the path to poll it at. */
export function presentCreatedRun(r: TestRun, testSuiteName: string | null = null) {
  return { ...presentRun(r, testSuiteName), poll_url: `/api/v1/runs/${r.id}` };
}

export function presentTestSuite(s: TestSuite) {
  return {
    id: s.id,
    name: s.name,
    description: s.description === '' ? null : s.description,
    scenario_ids: s.scenarioIds,
    scenario_count: s.scenarioIds.length,
    created_at: toIso(s.createdAt),
    updated_at: toIso(s.updatedAt),
  };
}

/**
 * `degradedAfter`: RUNHOOK_DEGRADED_AFTER, which decides `health`; `now` decides whether a
 * replaced public key is still in its rotation grace.
 */
export function presentWebhook(w: Webhook, degradedAfter: number, now: number = Date.now()) {
  const previousKey =
    w.previousPublicKey !== null && w.previousPublicKey.until > now ? w.previousPublicKey : null;
  return {
    id: w.id,
    url: w.url,
    description: w.description === '' ? null : w.description,
    agent_id: w.agentId,
    is_enabled: w.isEnabled,
    format: w.format,
    headers: w.headers,
    has_secret: w.hasSecret,
    signature_scheme: w.signatureScheme,
    public_key: w.publicKey,
    previous_public_key: previousKey?.publicKey ?? null,
    previous_public_key_expires_at: iso(previousKey?.until ?? null),
    ordering: w.ordering,
    waiting_count: w.waitingCount,
    last_triggered_at: iso(w.lastTriggeredAt),
    consecutive_failures: w.consecutiveFailures,
    health: webhookHealth(w, degradedAfter),
    disabled_reason: w.disabledReason,
    disabled_at: iso(w.disabledAt),
    filter: filterToJson(w.filter),
    events: w.events,
    created_at: toIso(w.createdAt),
    updated_at: toIso(w.updatedAt),
  };
}

export function presentDelivery(d: Delivery) {
  return {
    id: d.id,
    event_id: d.eventId,
    webhook_id: d.webhookId,
    kind: d.kind,
    test_run_id: d.testRunId,
    status: d.status,
    attempt_count: d.attemptCount,
    next_attempt_at: iso(d.nextAttemptAt),
    last_http_status: d.lastHttpStatus,
    last_response_time_ms: d.lastResponseTimeMs,
    failure_reason: d.failureReason,
    waiting: d.waiting,
    created_at: toIso(d.createdAt),
    updated_at: toIso(d.updatedAt),
  };
}

export function presentAttempt(a: Attempt) {
  return {
    id: a.id,
    attempt_number: a.attemptNumber,
    trigger: a.trigger,
    started_at: toIso(a.startedAt),
    response_time_ms: a.responseTimeMs,
    http_status: a.httpStatus,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    request: a.request,
    response: a.response,
  };
}

export function presentEvent(e: RunhookEvent) {
  return {
    id: e.id,
    type: e.type,
    test_run_id: e.testRunId,
    payload: JSON.parse(e.payload) as unknown,
    created_at: toIso(e.createdAt),
  };
}

export function presentApiKey(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    created_at: toIso(k.createdAt),
    expires_at: iso(k.expiresAt),
    last_used_at: iso(k.lastUsedAt),
  };
}
