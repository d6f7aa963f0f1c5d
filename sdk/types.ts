/**
 * The bodies Runhook POSTs to a webhook, as described in Runhook's docs/payloads.md.
 * Times are UTC ISO-8601 to the second (`2026-01-30T10:32:45Z`).
 *
 * Generated from src/domain/payloadSchemas.ts and src/domain/eventPayloads.ts; do not edit. After changing the schemas, run
 * UPDATE_TYPES=1 npx vitest run test/types/generatedTypes.test.ts
 */

/** One failing test of a run. */
export interface TestFailure {
  /** The test’s name. */
  name: string;
  /** Its class or suite, when given. */
  classname: string | null;
  /** Its file, when given. */
  file: string | null;
  /** What went wrong, at most 1000 characters (cut with `…`). */
  message: string | null;
  /** `failed` (an assertion failed) or `error` (the test could not run). */
  kind: 'failed' | 'error';
}

/** The test run as it appears inside a `standard` payload. */
export interface TestRunSummary {
  /** The test run’s id. Receivers deduplicate on it. */
  id: string;
  /** Human id, numbered per organization: `TR-00042`. */
  test_run_id: string;
  /** The run’s name. */
  name: string;
  /** The agent the run belongs to. */
  agent_id: string;
  /** The agent’s name when the run was created. */
  agent_name: string;
  /** How the run ended. */
  status: 'completed' | 'failed' | 'canceled';
  /** passed_count / total_scenarios × 100, rounded to 2 decimals; 0 when the total is 0. */
  pass_rate: number;
  /** Scenarios that passed. */
  passed_count: number;
  /** Scenarios that failed. */
  failed_count: number;
  /** Scenarios that errored. */
  error_count: number;
  /** As given by the caller, else passed_count + failed_count + error_count. */
  total_scenarios: number;
  /** When the run started (defaults to its creation). */
  started_at: string;
  /** When the run ended. */
  completed_at: string;
  /** completed_at − started_at in whole seconds. */
  duration_seconds: number;
  /** The first 20 failing tests, as the run was given them. Present only when the run has any; every other field is the same with or without it. */
  failures?: TestFailure[];
}

/** Format `standard`: sent once per finished test run (and on each retry, byte for byte). */
export interface TestRunCompletedEvent {
  /** The event type. */
  event: 'test_run_completed';
  /** When the event was created. The body is byte-identical on every retry. */
  timestamp: string;
  test_run: TestRunSummary;
  /** What changed since the baseline run; null when the run has no baseline. */
  changes: {
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
  } | null;
  /** The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`. */
  results_url: string;
}

/** Format `standard`, sent by "Test Webhook": a sample run with all-zero UUIDs. */
export interface TestEvent {
  /** Always `test` for Test Webhook sends. */
  event: 'test';
  /** Present (and true) only on Test Webhook sends. */
  is_test: true;
  /** When the test was sent. */
  timestamp: string;
  /** A sample run: `id` and `agent_id` are all-zero UUIDs. */
  test_run: TestRunSummary;
  /** A sample of what changed since a baseline run. */
  changes: {
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
  } | null;
  /** The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`. */
  results_url: string;
}

/** Format `standard`: sent once per run group when all its runs are final (docs/delivery.md, "Run groups"). */
export interface TestRunGroupCompletedEvent {
  /** The event type. */
  event: 'test_run_group_completed';
  /** Present (and true) only on Test Webhook sends. */
  is_test?: true;
  /** When the event was created. */
  timestamp: string;
  group: {
    /** The group, as the runs named it (e.g. a CI build id). */
    name: string;
    /** The largest `group_size` its runs gave; null when none gave one. */
    group_size: number | null;
    /** `group_size`: that many runs joined and all are final; `window`: all are final and none joined or finished for RUNHOOK_GROUP_WINDOW. */
    completed_by: 'group_size' | 'window';
    /** The runs’ agent; null when they have several. */
    agent_id: string | null;
    /** Its name; null when the runs have several agents. */
    agent_name: string | null;
    /** `failed` when a run failed, else `canceled` when one was canceled, else `completed`. */
    status: 'completed' | 'failed' | 'canceled';
    /** Runs in the group. */
    run_count: number;
    /** passed_count / total_scenarios × 100 over all runs, 2 decimals. */
    pass_rate: number;
    /** Summed over the runs. */
    passed_count: number;
    /** Summed over the runs. */
    failed_count: number;
    /** Summed over the runs. */
    error_count: number;
    /** Summed over the runs. */
    total_scenarios: number;
    /** When the first run started. */
    started_at: string;
    /** When the last run ended. */
    completed_at: string;
    /** completed_at − started_at in whole seconds. */
    duration_seconds: number;
    /** The group’s runs in the order they were created; the first 100 (run_count says how many). */
    runs: Array<{
      /** The run’s id. */
      id: string;
      /** Its human id: `TR-00042`. */
      test_run_id: string;
      /** The run’s name. */
      name: string;
      /** Its agent. */
      agent_id: string;
      /** How it ended. */
      status: 'completed' | 'failed' | 'canceled';
      /** Its pass rate, 2 decimals. */
      pass_rate: number;
      passed_count: number;
      failed_count: number;
      error_count: number;
      total_scenarios: number;
      /** The run in the dashboard. */
      results_url: string;
    }>;
    /** Each run’s `changes` summed: counts added up, lists concatenated in run order and cut at 20 (the counts say how many there are). Null when no run of the group had a baseline. */
    changes: {
      /** Runs of the group that had a baseline. */
      runs_compared: number;
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
      new_failures: Array<{
        /** The test’s name. */
        name: string;
        /** Its suite (JUnit’s classname), when given. */
        suite: string | null;
        message: string | null;
        /** The run (`TR-` id) it was seen in. */
        test_run_id: string;
      }>;
      fixed: Array<{
        /** The test’s name. */
        name: string;
        /** Its suite (JUnit’s classname), when given. */
        suite: string | null;
        /** The run (`TR-` id) it was seen in. */
        test_run_id: string;
      }>;
      flaky: Array<{
        /** The test’s name. */
        name: string;
        /** Its suite (JUnit’s classname), when given. */
        suite: string | null;
        reason: 'passed_on_retry' | 'flipping';
        /** The run (`TR-` id) it was seen in. */
        test_run_id: string;
      }>;
    } | null;
  };
}

/** Format `clix` (TestCLIX-compatible). */
export interface ClixPayload {
  /** When the event was created, in Unix seconds with a fraction (written with 3 decimals). */
  timestamp: number;
  /** The test run’s id (`test_run.id` of the standard payload). */
  test_id: string;
  /** `pass` when the run is `completed` with no failed and no errored scenario, else `error`. */
  status: 'pass' | 'error';
  /** When the run started (its `started_at`). */
  created_at: string;
}

/** Format `standard`: a test run entered `running`. */
export interface TestRunStartedEvent {
  /** The event type. */
  event: 'test_run_started';
  /** Present (and true) only on Test Webhook sends. */
  is_test?: true;
  /** When the event was created. The body is byte-identical on every retry. */
  timestamp: string;
  test_run: {
    /** The test run’s id; its `test_run_completed` carries the same. */
    id: string;
    /** Human id: `TR-00042`. */
    test_run_id: string;
    /** The run’s name. */
    name: string;
    /** The agent the run belongs to. */
    agent_id: string;
    /** The agent’s name. */
    agent_name: string;
    /** Always `running`. */
    status: 'running';
    /** The scenarios announced at creation, if any. */
    total_scenarios: number | null;
    /** When the run started. */
    started_at: string;
  };
  /** The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`. */
  results_url: string;
}

/** Format `standard`: a test became `failing`, `flaky` or `passing` again. */
export interface TestStatusChangedEvent {
  /** The event type. */
  event: 'test_status_changed';
  /** Present (and true) only on Test Webhook sends. */
  is_test?: true;
  /** When the event was created. The body is byte-identical on every retry. */
  timestamp: string;
  test: {
    /** The test’s stable id within its agent (`scenario_id` of scenario results). */
    id: string;
    /** The test’s name. */
    name: string;
    /** Its suite (JUnit’s classname), when given. */
    suite: string | null;
    /** The agent the test belongs to. */
    agent_id: string;
    /** The agent’s name. */
    agent_name: string;
    /** Its state now, over its recent results (docs: api.md, "Test history"). */
    state: 'passing' | 'failing' | 'flaky';
    /** Its state before this run. */
    previous_state: 'passing' | 'failing' | 'flaky';
    /** Its outcome in the run that changed it. */
    last_status: 'passed' | 'failed' | 'error' | 'skipped';
    /** The failure message of that outcome, if it failed. */
    message: string | null;
  };
  /** The run whose result changed the test’s state. */
  test_run: {
    /** The test run’s id. */
    id: string;
    /** Human id: `TR-00042`. */
    test_run_id: string;
  };
  /** The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`. */
  results_url: string;
}

/** Format `standard`: another of the organization's webhooks was disabled by the system. */
export interface WebhookDisabledEvent {
  /** The event type. */
  event: 'webhook_disabled';
  /** Present (and true) only on Test Webhook sends. */
  is_test?: true;
  /** When the event was created. The body is byte-identical on every retry. */
  timestamp: string;
  /** The endpoint concerned (never the one this body is sent to). Its URL is not sent, only its host: a chat URL is a credential. */
  webhook: {
    /** The webhook’s id. */
    id: string;
    /** Its description. */
    description: string | null;
    /** Its agent; null for an org-level webhook. */
    agent_id: string | null;
    /** The host (and port, if any) of its URL. */
    host: string;
    /** Its format. */
    format: string;
  };
  /** `gone` (it answered 410) or `failing` (turned off after its failures, docs: delivery.md, "Endpoint health"). */
  reason: 'gone' | 'failing';
  /** Failed attempts in a row when it changed. */
  consecutive_failures: number;
  /** Where the dashboard shows the webhook: `<RUNHOOK_PUBLIC_URL>/agents/<agent_id>` for an agent’s, `<RUNHOOK_PUBLIC_URL>/settings/webhooks` for an org-level one. */
  dashboard_url: string;
}

/** Format `standard`: another of the organization's webhooks is enabled again. */
export interface WebhookRecoveredEvent {
  /** The event type. */
  event: 'webhook_recovered';
  /** Present (and true) only on Test Webhook sends. */
  is_test?: true;
  /** When the event was created. The body is byte-identical on every retry. */
  timestamp: string;
  /** The endpoint concerned (never the one this body is sent to). Its URL is not sent, only its host: a chat URL is a credential. */
  webhook: {
    /** The webhook’s id. */
    id: string;
    /** Its description. */
    description: string | null;
    /** Its agent; null for an org-level webhook. */
    agent_id: string | null;
    /** The host (and port, if any) of its URL. */
    host: string;
    /** Its format. */
    format: string;
  };
  /** `probe` (a probe was answered 2xx) or `manual` (turned back on through the API or dashboard). */
  reason: 'probe' | 'manual';
  /** Failed attempts in a row when it changed. */
  consecutive_failures: number;
  /** Where the dashboard shows the webhook: `<RUNHOOK_PUBLIC_URL>/agents/<agent_id>` for an agent’s, `<RUNHOOK_PUBLIC_URL>/settings/webhooks` for an org-level one. */
  dashboard_url: string;
}

/** A finished run's `standard` body, or a Test Webhook send. Switch on `event`. */
export type RunhookEvent = TestRunCompletedEvent | TestEvent;

/** Any `standard` body, of every event type a webhook can subscribe to. Switch on `event`. */
export type AnyRunhookEvent =
  | RunhookEvent
  | TestRunStartedEvent
  | TestStatusChangedEvent
  | WebhookDisabledEvent
  | WebhookRecoveredEvent
  | TestRunGroupCompletedEvent;
