/**
 * Webhook bodies (docs/payloads.md). The `standard` payload is built once when the event is created and
 * stored; renderBody turns it into the exact bytes sent, so every retry is byte-identical.
 */
import {
  chatChangeLine,
  chatFailures,
  discordGroupMessage,
  discordMessage,
  slackGroupMessage,
  teamsGroupMessage,
  teamsMessage,
} from './chatMessages.js';
import { otherEventBody } from './eventMessages.js';
import type { OtherEventPayload } from './eventPayloads.js';
import { cutText, FAILURE_LIMITS, type TestFailure } from './failures.js';
import { durationSeconds, effectiveTotal, formatRunId, passRate } from './runMath.js';
import { failingCount, runOutcome } from './runOutcome.js';
import { toIso } from './time.js';
import { CLIX_EVENT_TYPES } from './validateWebhook.js';

// The payload types are derived from their schemas, in one place.
export type { StandardPayload, StandardPayloadTestRun } from './payloadSchemas.js';
// The Test Webhook samples: the run's below, the run group's beside its payload.
export { groupTestSample, sampleGroupCompleted } from './runGroups.js';

import type {
  RunChanges,
  StandardPayload,
  StandardPayloadTestRun,
  TestEvent,
  TestRunCompletedEvent,
  TestRunGroupCompletedEvent,
} from './payloadSchemas.js';
import type { EventType, TestRun, WebhookFormat } from './types.js';
import { isFinalRunStatus } from './types.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Three failed scenarios of the sample run: test sends and the docs' examples show how failures look. */
export const SAMPLE_FAILURES: readonly TestFailure[] = [
  {
    name: 'escalates chest pain to emergency services',
    classname: 'triage.emergency',
    file: 'scenarios/emergency.yaml',
    message: 'expected a referral to emergency services, got a self-care suggestion',
    kind: 'failed',
  },
  {
    name: 'asks for allergies before suggesting medication',
    classname: 'triage.medication',
    file: 'scenarios/medication.yaml',
    message: 'no question about allergies within 3 turns',
    kind: 'failed',
  },
  {
    name: 'hands over to a human on request',
    classname: 'triage.handover',
    file: 'scenarios/handover.yaml',
    message: 'the agent kept answering after "let me talk to a person"',
    kind: 'failed',
  },
];
/** Length of the sample run in a test payload. */
const SAMPLE_RUN_MS = 165_000;

function resultsUrl(publicUrl: string, runId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/runs/${runId}`;
}

function testRunObject(run: TestRun): StandardPayloadTestRun {
  if (!isFinalRunStatus(run.status) || run.completedAt === null) {
    // Events exist only for finished runs (docs/delivery.md#one-event-per-run); reaching here is a caller bug.
    throw new Error(`test run ${run.id} is not finished (status ${run.status}); it has no payload yet`);
  }
  const total = effectiveTotal(run.passedCount, run.failedCount, run.errorCount, run.totalScenarios);
  return {
    id: run.id,
    test_run_id: formatRunId(run.seq),
    name: run.name,
    agent_id: run.agentId,
    agent_name: run.agentName,
    status: run.status,
    pass_rate: passRate(run.passedCount, total),
    passed_count: run.passedCount,
    failed_count: run.failedCount,
    error_count: run.errorCount,
    total_scenarios: total,
    started_at: toIso(run.startedAt),
    completed_at: toIso(run.completedAt),
    duration_seconds: durationSeconds(run.startedAt, run.completedAt),
    ...(run.failures.length > 0 && {
      failures: run.failures.slice(0, FAILURE_LIMITS.inStandardPayload),
    }),
  };
}

/** The `test_run_completed` payload of a finished run; `eventCreatedAt` becomes `timestamp`. */
export function standardPayload(
  run: TestRun,
  eventCreatedAt: number,
  publicUrl: string,
): TestRunCompletedEvent {
  return {
    event: 'test_run_completed',
    timestamp: toIso(eventCreatedAt),
    test_run: testRunObject(run),
    changes: run.changes ?? null,
    results_url: resultsUrl(publicUrl, run.id),
  };
}

/** What the sample run of a Test Webhook send shows as changed: one of its failures is new, one fixed. */
export const SAMPLE_CHANGES: RunChanges = {
  baseline_test_run_id: 'TR-00000',
  basis: 'results',
  new_failures: [
    {
      name: SAMPLE_FAILURES[0]?.name ?? '',
      suite: SAMPLE_FAILURES[0]?.classname ?? null,
      message: SAMPLE_FAILURES[0]?.message ?? null,
    },
  ],
  fixed: [{ name: 'confirms the callback number', suite: 'triage.handover' }],
  flaky: [{ name: 'hands over to a human on request', suite: 'triage.handover', reason: 'flipping' }],
  counts: { new_failures: 1, fixed: 1, still_failing: 1, flaky: 1, new_tests: 0, missing_tests: 0 },
  pass_rate_delta: -5,
  duration_delta_seconds: 12,
  score_delta: null,
};

/** The Test Webhook payload: `event: "test"`, `is_test: true`, a sample run with zero UUIDs. */
export function testPayload(now: number, publicUrl: string): TestEvent {
  const sample: TestRun = {
    id: ZERO_UUID,
    orgId: ZERO_UUID,
    seq: 0,
    name: 'Sample test run',
    agentId: ZERO_UUID,
    agentName: 'Sample agent',
    status: 'completed',
    passedCount: 17,
    failedCount: 3,
    errorCount: 0,
    totalScenarios: 20,
    startedAt: now - SAMPLE_RUN_MS,
    completedAt: now,
    createdAt: now - SAMPLE_RUN_MS,
    failures: [...SAMPLE_FAILURES],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
  };
  return {
    event: 'test',
    is_test: true,
    timestamp: toIso(now),
    test_run: testRunObject(sample),
    changes: SAMPLE_CHANGES,
    results_url: resultsUrl(publicUrl, sample.id),
  };
}

/** The run passed: completed, with no failed and no errored scenario. */
function isPass(run: StandardPayloadTestRun): boolean {
  return run.status === 'completed' && run.failed_count === 0 && run.error_count === 0;
}

/**
 * The exact request body for a webhook of the given format. `eventCreatedAt` is the event's
 * creation time in ms (the same value the standard payload's `timestamp` came from).
 */
export function renderBody(format: WebhookFormat, payload: StandardPayload, eventCreatedAt: number): string {
  switch (format) {
    case 'standard':
      return JSON.stringify(payload);
    case 'clix':
      return renderClix(payload, eventCreatedAt);
    case 'slack':
      return JSON.stringify(slackMessage(payload));
    case 'discord':
      return JSON.stringify(discordMessage(payload));
    case 'teams':
      return JSON.stringify(teamsMessage(payload));
  }
}

/** An event's stored payload text and, per webhook format, the body its delivery sends. */
export interface RenderedEvent {
  /** The `standard` payload as JSON text: what the event stores. */
  payload: string;
  body(format: WebhookFormat): string;
}

/** Renders an event once: the standard body is the stored payload text itself. */
export function renderEvent(payload: StandardPayload, eventCreatedAt: number): RenderedEvent {
  const json = JSON.stringify(payload);
  return {
    payload: json,
    body: (format) => (format === 'standard' ? json : renderBody(format, payload, eventCreatedAt)),
  };
}

/**
 * Whether a webhook format can carry an event type: `clix` has TestCLIX's four fields of one run,
 * so it carries a run's events only; the chat formats and `standard` carry every type.
 */
export function formatCarries(format: WebhookFormat, eventType: EventType): boolean {
  return format !== 'clix' || (CLIX_EVENT_TYPES as readonly string[]).includes(eventType);
}

/** Renders a run group's event once (docs/delivery.md#run-groups); `clix` cannot carry it. */
export function renderGroupEvent(payload: TestRunGroupCompletedEvent): RenderedEvent {
  const json = JSON.stringify(payload);
  return {
    payload: json,
    body: (format) => {
      switch (format) {
        case 'standard':
          return json;
        case 'slack':
          return JSON.stringify(slackGroupMessage(payload));
        case 'discord':
          return JSON.stringify(discordGroupMessage(payload));
        case 'teams':
          return JSON.stringify(teamsGroupMessage(payload));
        case 'clix':
          throw new Error('format clix cannot carry test_run_group_completed; check formatCarries first');
      }
    },
  };
}

function renderClix(payload: StandardPayload, eventCreatedAt: number): string {
  const run = payload.test_run;
  // TestCLIX sends Unix seconds with a fraction (like Python's time.time()); JSON.stringify
  // would drop the fraction on a whole second, so the number is written with 3 decimals.
  const timestamp = (eventCreatedAt / 1000).toFixed(3);
  return (
    `{"timestamp":${timestamp},"test_id":${JSON.stringify(run.id)},` +
    `"status":${JSON.stringify(isPass(run) ? 'pass' : 'error')},"created_at":${JSON.stringify(run.started_at)}}`
  );
}

interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/** Slack wants &, < and > escaped in text; names are user input and must stay one line. */
function slackEscape(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Failing tests a Slack message lists; the rest are counted. */
const SLACK_FAILURES = 5;

/**
 * The first failing tests as mrkdwn lines, each short enough that the section stays well under
 * Slack's 3,000-character limit, then how many more there are.
 */
function slackFailureLines(payload: StandardPayload): string[] {
  const run = payload.test_run;
  const failures = chatFailures(payload);
  if (failures.length === 0) return [];
  const marks = { '': '', new: ' _(new)_', flaky: ' _(flaky)_' } as const;
  const lines = failures.slice(0, SLACK_FAILURES).map((f) => {
    const message = f.message === null ? '' : ` — ${slackEscape(cutText(f.message, 200))}`;
    return `• ${slackEscape(cutText(f.name, 150))}${marks[f.mark]}${message}`;
  });
  const more = Math.max(failingCount(run), failures.length) - lines.length;
  if (more > 0) lines.push(`…and ${more} more`);
  return ['*Failing tests:*', ...lines];
}

function slackMessage(payload: StandardPayload): SlackMessage {
  const run = payload.test_run;
  const { emoji, words } = runOutcome(run);
  const name = slackEscape(run.name === '' ? run.test_run_id : run.name);
  const agent = slackEscape(run.agent_name);
  const prefix = payload.event === 'test' ? '[Test webhook from Runhook] ' : '';
  const change = chatChangeLine(payload);
  const opening = change === null ? '' : `${slackEscape(change)} · `;
  const text =
    `${prefix}${opening}${emoji} ${name} ${words} · agent ${agent} · ` +
    `${run.passed_count}/${run.total_scenarios} passed · ${run.pass_rate}% pass rate`;
  const details = [
    ...(change === null ? [] : [`${prefix}*${slackEscape(change)}*`]),
    `${change === null ? prefix : ''}${emoji} *${name}* ${words}`,
    `*Run:* ${run.test_run_id}`,
    `*Agent:* ${agent}`,
    `*Passed:* ${run.passed_count}/${run.total_scenarios} (${run.pass_rate}%)`,
    `*Failed:* ${run.failed_count}  *Errors:* ${run.error_count}  *Duration:* ${run.duration_seconds}s`,
    ...slackFailureLines(payload),
  ].join('\n');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: details } },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'View results' },
            url: payload.results_url,
          },
        ],
      },
    ],
  };
}

/**
 * Renders an event of another type (src/domain/eventPayloads.ts) once. Null for a format that
 * cannot carry it (`clix`): such a webhook cannot be subscribed to it (validateWebhook.ts).
 */
export function renderOtherEvent(payload: OtherEventPayload): {
  payload: string;
  body(format: WebhookFormat): string | null;
} {
  const json = JSON.stringify(payload);
  return {
    payload: json,
    body: (format) => (format === 'standard' ? json : otherEventBody(format, payload)),
  };
}
