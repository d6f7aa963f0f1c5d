/**
 * The bodies Runhook POSTs to a webhook, as described in Runhook's docs/payloads.md.
 *
 * Times are UTC ISO-8601 to the second (`2026-01-30T10:32:45Z`).
 */

/** The test run as it appears inside a `standard` payload. */
export interface TestRunSummary {
  /** The run's UUID; receivers deduplicate on it. */
  id: string;
  /** Human id, sequential per organization: `TR-00042`. */
  test_run_id: string;
  name: string;
  agent_id: string;
  agent_name: string;
  status: 'completed' | 'failed' | 'canceled';
  /** passed / total × 100, rounded to 2 decimals; 0 when total is 0. */
  pass_rate: number;
  passed_count: number;
  failed_count: number;
  error_count: number;
  total_scenarios: number;
  started_at: string;
  completed_at: string;
  duration_seconds: number;
}

/** Format `standard`: sent once per finished test run (and on each retry, byte for byte). */
export interface TestRunCompletedEvent {
  event: 'test_run_completed';
  /** When the event was created (not when this attempt was sent). */
  timestamp: string;
  test_run: TestRunSummary;
  /** `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>` */
  results_url: string;
}

/** Format `standard`, sent by "Test Webhook": a sample run with all-zero UUIDs. */
export interface TestEvent {
  event: 'test';
  is_test: true;
  timestamp: string;
  test_run: TestRunSummary;
  results_url: string;
}

/** Any `standard` body. Switch on `event`. */
export type RunhookEvent = TestRunCompletedEvent | TestEvent;

/** Format `clix` (TestCLIX-compatible). */
export interface ClixPayload {
  /** Unix seconds, with fraction. */
  timestamp: number;
  /** The run's UUID. */
  test_id: string;
  /** `pass` when the run completed with no failed and no errored scenarios. */
  status: 'pass' | 'error';
  /** The run's `started_at`. */
  created_at: string;
}
