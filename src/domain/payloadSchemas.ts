/**
 * The one definition of the bodies Runhook sends (docs/payloads.md), as JSON Schema 2020-12, and
 * the TypeScript types derived from it. Everything else follows from here: the domain's payload
 * types (below), the OpenAPI document's `webhooks` section and docs/payloads.md (src/http/), the
 * SDK's exported types (sdk/types.ts, generated and checked by test/types/generatedTypes.test.ts).
 * Pure data: no I/O, importable from any layer.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { FAILURE_KINDS, FAILURE_LIMITS } from './failures.js';
import { FINAL_RUN_STATUSES } from './types.js';

export const isoSecond = {
  type: 'string',
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$',
} as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const count = { type: 'integer', minimum: 0 } as const;

/** One failing test in a payload (and on a run): docs/payloads.md. */
export const failureSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'classname', 'file', 'message', 'kind'],
  properties: {
    name: { type: 'string', description: 'The test’s name.' },
    classname: { type: ['string', 'null'], description: 'Its class or suite, when given.' },
    file: { type: ['string', 'null'], description: 'Its file, when given.' },
    message: {
      type: ['string', 'null'],
      description: `What went wrong, at most ${FAILURE_LIMITS.message} characters (cut with \`…\`).`,
    },
    kind: {
      type: 'string',
      enum: [...FAILURE_KINDS],
      description: '`failed` (an assertion failed) or `error` (the test could not run).',
    },
  },
} as const;

/** The `test_run` object of the standard payload; properties in the order they are sent. */
export const payloadTestRunSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'test_run_id',
    'name',
    'agent_id',
    'agent_name',
    'status',
    'pass_rate',
    'passed_count',
    'failed_count',
    'error_count',
    'total_scenarios',
    'started_at',
    'completed_at',
    'duration_seconds',
  ],
  properties: {
    id: { ...uuid, description: 'The test run’s id. Receivers deduplicate on it.' },
    test_run_id: {
      type: 'string',
      pattern: '^TR-\\d{5,}$',
      description: 'Human id, numbered per organization: `TR-00042`.',
    },
    name: { type: 'string', description: 'The run’s name.' },
    agent_id: { ...uuid, description: 'The agent the run belongs to.' },
    agent_name: { type: 'string', description: 'The agent’s name when the run was created.' },
    status: {
      type: 'string',
      enum: [...FINAL_RUN_STATUSES],
      description: 'How the run ended.',
    },
    pass_rate: {
      type: 'number',
      minimum: 0,
      maximum: 100,
      description: 'passed_count / total_scenarios × 100, rounded to 2 decimals; 0 when the total is 0.',
    },
    passed_count: { ...count, description: 'Scenarios that passed.' },
    failed_count: { ...count, description: 'Scenarios that failed.' },
    error_count: { ...count, description: 'Scenarios that errored.' },
    total_scenarios: {
      ...count,
      description: 'As given by the caller, else passed_count + failed_count + error_count.',
    },
    started_at: { ...isoSecond, description: 'When the run started (defaults to its creation).' },
    completed_at: { ...isoSecond, description: 'When the run ended.' },
    duration_seconds: {
      ...count,
      description: 'completed_at − started_at in whole seconds.',
    },
    failures: {
      type: 'array',
      minItems: 1,
      maxItems: FAILURE_LIMITS.inStandardPayload,
      description:
        `The first ${FAILURE_LIMITS.inStandardPayload} failing tests, as the run was given them. ` +
        'Present only when the run has any; every other field is the same with or without it.',
      items: failureSchema,
    },
  },
} as const;

const testRef = {
  name: { type: 'string', description: 'The test’s name.' },
  suite: { type: ['string', 'null'], description: 'Its suite (JUnit’s classname), when given.' },
} as const;

/**
 * What changed since the baseline run (docs/api.md#what-changed): computed once, in the
 * transaction that creates the event, stored on the run and sent as is.
 */
export const changesSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'baseline_test_run_id',
    'basis',
    'new_failures',
    'fixed',
    'flaky',
    'counts',
    'pass_rate_delta',
    'duration_delta_seconds',
    'score_delta',
  ],
  description: 'What changed since the baseline run.',
  properties: {
    baseline_test_run_id: {
      type: ['string', 'null'],
      description: 'The baseline run’s human id (`TR-00041`).',
    },
    basis: {
      type: 'string',
      enum: ['results', 'failures', 'none'],
      description:
        '`results`: both runs carry scenario results; `failures`: compared by failing test names; ' +
        '`none`: the names are unknown, only the numbers are compared.',
    },
    new_failures: {
      type: 'array',
      maxItems: 20,
      description: 'Tests failing now that passed (or were not failing) in the baseline; the first 20.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite', 'message'],
        properties: { ...testRef, message: { type: ['string', 'null'], description: 'What went wrong.' } },
      },
    },
    fixed: {
      type: 'array',
      maxItems: 20,
      description: 'Tests that failed in the baseline and pass now; the first 20.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite'],
        properties: testRef,
      },
    },
    flaky: {
      type: 'array',
      maxItems: 20,
      description: 'Tests whose outcome is not to be trusted; the first 20.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite', 'reason'],
        properties: {
          ...testRef,
          reason: {
            type: 'string',
            enum: ['passed_on_retry', 'flipping'],
            description:
              '`passed_on_retry`: failed, then passed within this run; `flipping`: its outcome changed ' +
              'between passing and failing at least 3 times in its last 10 runs.',
          },
        },
      },
    },
    counts: {
      type: 'object',
      additionalProperties: false,
      required: ['new_failures', 'fixed', 'still_failing', 'flaky', 'new_tests', 'missing_tests'],
      properties: {
        new_failures: count,
        fixed: count,
        still_failing: count,
        flaky: count,
        new_tests: { ...count, description: 'Tests in this run and not in the baseline (basis `results`).' },
        missing_tests: {
          ...count,
          description: 'Tests in the baseline and not in this run (basis `results`).',
        },
      },
    },
    pass_rate_delta: { type: 'number', description: 'pass_rate − the baseline’s, 2 decimals.' },
    duration_delta_seconds: { type: 'integer', description: 'duration_seconds − the baseline’s.' },
    score_delta: {
      type: ['number', 'null'],
      description:
        'Score (points awarded / max points × 100) − the baseline’s, 2 decimals; null unless both runs have scores.',
    },
  },
} as const;

const resultsUrl = {
  type: 'string',
  format: 'uri',
  description: 'The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`.',
} as const;

/** Format `standard`: the `test_run_completed` event (docs/payloads.md). */
export const standardPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event', 'timestamp', 'test_run', 'changes', 'results_url'],
  properties: {
    event: { const: 'test_run_completed', description: 'The event type.' },
    timestamp: {
      ...isoSecond,
      description: 'When the event was created. The body is byte-identical on every retry.',
    },
    test_run: payloadTestRunSchema,
    changes: {
      ...changesSchema,
      type: ['object', 'null'],
      description: 'What changed since the baseline run; null when the run has no baseline.',
    },
    results_url: resultsUrl,
  },
} as const;

/** Format `standard`, sent by Test Webhook: `event: "test"`, `is_test: true`, a sample run. */
export const testPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event', 'is_test', 'timestamp', 'test_run', 'changes', 'results_url'],
  properties: {
    event: { const: 'test', description: 'Always `test` for Test Webhook sends.' },
    is_test: { const: true, description: 'Present (and true) only on Test Webhook sends.' },
    timestamp: { ...isoSecond, description: 'When the test was sent.' },
    test_run: {
      ...payloadTestRunSchema,
      description: 'A sample run: `id` and `agent_id` are all-zero UUIDs.',
    },
    changes: {
      ...changesSchema,
      type: ['object', 'null'],
      description: 'A sample of what changed since a baseline run.',
    },
    results_url: resultsUrl,
  },
} as const;

/** Runs a group's payload lists, and entries each of its change lists holds (docs/delivery.md#run-groups). */
export const GROUP_LIMITS = { runs: 100, changes: 20 } as const;

const groupRunSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'test_run_id',
    'name',
    'agent_id',
    'status',
    'pass_rate',
    'passed_count',
    'failed_count',
    'error_count',
    'total_scenarios',
    'results_url',
  ],
  properties: {
    id: { ...uuid, description: 'The run’s id.' },
    test_run_id: { type: 'string', pattern: '^TR-\\d{5,}$', description: 'Its human id: `TR-00042`.' },
    name: { type: 'string', description: 'The run’s name.' },
    agent_id: { ...uuid, description: 'Its agent.' },
    status: { type: 'string', enum: [...FINAL_RUN_STATUSES], description: 'How it ended.' },
    pass_rate: { type: 'number', minimum: 0, maximum: 100, description: 'Its pass rate, 2 decimals.' },
    passed_count: count,
    failed_count: count,
    error_count: count,
    total_scenarios: count,
    results_url: { type: 'string', format: 'uri', description: 'The run in the dashboard.' },
  },
} as const;

const inRun = { test_run_id: { type: 'string', description: 'The run (`TR-` id) it was seen in.' } } as const;

/** What changed across a group's runs: each run's `changes` (§ what-changed) summed. */
export const groupChangesSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['runs_compared', 'counts', 'new_failures', 'fixed', 'flaky'],
  description:
    'Each run’s `changes` summed: counts added up, lists concatenated in run order and cut at ' +
    `${GROUP_LIMITS.changes} (the counts say how many there are). Null when no run of the group had a baseline.`,
  properties: {
    runs_compared: { ...count, description: 'Runs of the group that had a baseline.' },
    counts: changesSchema.properties.counts,
    new_failures: {
      type: 'array',
      maxItems: GROUP_LIMITS.changes,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite', 'message', 'test_run_id'],
        properties: { ...testRef, message: { type: ['string', 'null'] }, ...inRun },
      },
    },
    fixed: {
      type: 'array',
      maxItems: GROUP_LIMITS.changes,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite', 'test_run_id'],
        properties: { ...testRef, ...inRun },
      },
    },
    flaky: {
      type: 'array',
      maxItems: GROUP_LIMITS.changes,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'suite', 'reason', 'test_run_id'],
        properties: {
          ...testRef,
          reason: { type: 'string', enum: ['passed_on_retry', 'flipping'] },
          ...inRun,
        },
      },
    },
  },
} as const;

/** The `group` object of `test_run_group_completed`. */
export const payloadGroupSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'name',
    'group_size',
    'completed_by',
    'agent_id',
    'agent_name',
    'status',
    'run_count',
    'pass_rate',
    'passed_count',
    'failed_count',
    'error_count',
    'total_scenarios',
    'started_at',
    'completed_at',
    'duration_seconds',
    'runs',
    'changes',
  ],
  properties: {
    name: { type: 'string', description: 'The group, as the runs named it (e.g. a CI build id).' },
    group_size: {
      type: ['integer', 'null'],
      minimum: 1,
      description: 'The largest `group_size` its runs gave; null when none gave one.',
    },
    completed_by: {
      type: 'string',
      enum: ['group_size', 'window'],
      description:
        '`group_size`: that many runs joined and all are final; `window`: all are final and none joined or ' +
        'finished for RUNHOOK_GROUP_WINDOW.',
    },
    agent_id: {
      ...uuid,
      type: ['string', 'null'],
      description: 'The runs’ agent; null when they have several.',
    },
    agent_name: {
      type: ['string', 'null'],
      description: 'Its name; null when the runs have several agents.',
    },
    status: {
      type: 'string',
      enum: [...FINAL_RUN_STATUSES],
      description: '`failed` when a run failed, else `canceled` when one was canceled, else `completed`.',
    },
    run_count: { ...count, description: 'Runs in the group.' },
    pass_rate: {
      type: 'number',
      minimum: 0,
      maximum: 100,
      description: 'passed_count / total_scenarios × 100 over all runs, 2 decimals.',
    },
    passed_count: { ...count, description: 'Summed over the runs.' },
    failed_count: { ...count, description: 'Summed over the runs.' },
    error_count: { ...count, description: 'Summed over the runs.' },
    total_scenarios: { ...count, description: 'Summed over the runs.' },
    started_at: { ...isoSecond, description: 'When the first run started.' },
    completed_at: { ...isoSecond, description: 'When the last run ended.' },
    duration_seconds: { ...count, description: 'completed_at − started_at in whole seconds.' },
    runs: {
      type: 'array',
      minItems: 1,
      maxItems: GROUP_LIMITS.runs,
      description: `The group’s runs in the order they were created; the first ${GROUP_LIMITS.runs} (run_count says how many).`,
      items: groupRunSchema,
    },
    changes: groupChangesSchema,
  },
} as const;

/** Format `standard`: the `test_run_group_completed` event (docs/delivery.md#run-groups). */
export const groupCompletedPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event', 'timestamp', 'group'],
  properties: {
    event: { const: 'test_run_group_completed', description: 'The event type.' },
    is_test: { const: true, description: 'Present (and true) only on Test Webhook sends.' },
    timestamp: { ...isoSecond, description: 'When the event was created.' },
    group: payloadGroupSchema,
  },
} as const;

/** Format `clix` (TestCLIX-compatible). */
export const clixPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['timestamp', 'test_id', 'status', 'created_at'],
  properties: {
    timestamp: {
      type: 'number',
      description: 'When the event was created, in Unix seconds with a fraction (written with 3 decimals).',
    },
    test_id: { ...uuid, description: 'The test run’s id (`test_run.id` of the standard payload).' },
    status: {
      type: 'string',
      enum: ['pass', 'error'],
      description: '`pass` when the run is `completed` with no failed and no errored scenario, else `error`.',
    },
    created_at: { ...isoSecond, description: 'When the run started (its `started_at`).' },
  },
} as const;

/** What changed since the baseline run; null without one. */
export type RunChanges = FromSchema<typeof changesSchema> | null;
/** One failing test, as a run keeps it and a payload carries it. */
export type PayloadFailure = FromSchema<typeof failureSchema>;
/** The `test_run` object of the standard payload. */
export type StandardPayloadTestRun = FromSchema<typeof payloadTestRunSchema>;
/** Format `standard`: sent once per finished test run. */
export type TestRunCompletedEvent = FromSchema<typeof standardPayloadSchema>;
/** Format `standard`, sent by Test Webhook. */
export type TestEvent = FromSchema<typeof testPayloadSchema>;
/** Format `standard`: sent once per run group when all its runs are final. */
export type TestRunGroupCompletedEvent = FromSchema<typeof groupCompletedPayloadSchema>;
/** The `group` object of `test_run_group_completed`. */
export type PayloadGroup = FromSchema<typeof payloadGroupSchema>;
/** Any `standard` body; `event` tells which. */
export type StandardPayload = TestRunCompletedEvent | TestEvent;
/** Format `clix` (TestCLIX-compatible). */
export type ClixPayload = FromSchema<typeof clixPayloadSchema>;
