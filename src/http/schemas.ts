/**
 * JSON schemas of the API: the routes validate requests with them, and /openapi.json is generated
 * from the same objects. Bodies reject unknown fields; lengths follow docs/api.md#conventions.
 */

import { AGENT_PROVIDERS, CONFIG_ERROR_CODES, CONFIG_MAX_BYTES } from '../domain/agentConfig.js';
import { FAILURE_KINDS, FAILURE_LIMITS } from '../domain/failures.js';
import { changesSchema } from '../domain/payloadSchemas.js';
import { CRITERION_DECISIONS, RESULT_CHANGES, RESULT_LIMITS, RESULT_STATUSES } from '../domain/results.js';
import { STATS_WINDOWS } from '../domain/stats.js';
import {
  ATTEMPT_TRIGGERS,
  DELIVERY_KINDS,
  DISABLED_REASONS,
  FAILURE_REASONS,
  FINAL_RUN_STATUSES,
  SIGNATURE_SCHEMES,
  TEST_MODES,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_FORMATS,
  WEBHOOK_HEALTH,
  WEBHOOK_ORDERINGS,
} from '../domain/types.js';
import { LIMITS } from '../domain/validateWebhook.js';
import { IDEMPOTENCY_KEY_MAX } from './idempotency.js';
import { MAX_LIMIT, MAX_OFFSET } from './params.js';

const nullable = (type: string) => ({ type: [type, 'null'] });
const isoTime = { type: 'string', format: 'date-time', examples: ['2026-01-30T10:32:45Z'] };
const isoTimeOrNull = { type: ['string', 'null'], format: 'date-time' };
const uuid = { type: 'string', format: 'uuid' };
const count = { type: 'integer', minimum: 0, maximum: 1_000_000_000 };
/**
 * Names (agent, run, API key, test suite) are shown in lists, chat messages and the dashboard: at
 * least one character that is not whitespace, and well-formed UTF-16 (no lone surrogate, which
 * no JSON encoder can write back out and PostgreSQL refuses as text). Ajv compiles patterns with
 * the `u` flag, so a surrogate pair is one code point outside the excluded range.
 */
export const NAME_TEXT_PATTERN = '^(?!\\s*$)[^\\uD800-\\uDFFF]*$';
const name = { type: 'string', minLength: 1, maxLength: LIMITS.name, pattern: NAME_TEXT_PATTERN };
const description = {
  type: ['string', 'null'],
  maxLength: LIMITS.description,
  description: 'null (or an empty string) means none; shown as null.',
};

/** The `Idempotency-Key` header of the POSTs that create or finish something (docs/api.md#idempotency). */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX,
      description:
        'Optional. The first answer is kept 24 hours for your organization and this key; the same key with the ' +
        'same request answers it again (header `Idempotent-Replayed: true`) without doing anything, even when ' +
        'both arrive at once; the same key with another request is a 409 `ALREADY_EXISTS`.',
    },
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'The object id (a UUID).' } },
} as const;

/** The body of a POST that takes none (redeliver, validate, rotate-key): absent, or `{}`; unknown fields are refused as everywhere. */
export const emptyBody = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const;

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 20, description: '1 to 100.' },
  offset: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_OFFSET,
    default: 0,
    description: 'How many items to skip; 0 to 1,000,000,000.',
  },
};

export function listQuery(extra: Record<string, unknown> = {}) {
  return { type: 'object', additionalProperties: false, properties: { ...pageQuery, ...extra } };
}

export function listResponse(itemsKey: string, item: unknown) {
  return {
    type: 'object',
    required: [itemsKey, 'total', 'limit', 'offset'],
    properties: {
      [itemsKey]: { type: 'array', items: item },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
    },
  };
}

// ---- agents

export const agentSchema = {
  type: 'object',
  required: ['id', 'name', 'description', 'provider', 'has_config', 'is_active', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    description: nullable('string'),
    provider: nullable('string'),
    has_config: {
      type: 'boolean',
      description: 'A provider config is stored. The config itself is write-only and never shown.',
    },
    is_active: { type: 'boolean' },
    created_at: isoTime,
    updated_at: isoTime,
  },
} as const;

const agentProvider = {
  type: ['string', 'null'],
  enum: [...AGENT_PROVIDERS, null],
  description: `One of ${AGENT_PROVIDERS.join(', ')}; null for none.`,
};

const agentConfig = {
  type: ['object', 'null'],
  additionalProperties: true,
  description:
    `Write-only. The provider's connection settings (keys, ids, URLs), at most ${CONFIG_MAX_BYTES / 1024} KiB as JSON; ` +
    'stored encrypted, never shown (see `has_config`). null clears it. POST /agents/{id}/validate checks its shape.',
  examples: [{ assistant_id: 'asst_abc123', api_key: 'va_xxx' }],
};

export const createAgentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name,
    description,
    provider: agentProvider,
    config: agentConfig,
    is_active: { type: 'boolean' },
  },
  examples: [
    { name: 'Healthcare Assistant', description: 'Triage bot', provider: 'openai' },
    {
      name: 'Triage line',
      provider: 'vapi',
      config: { assistant_id: 'asst_abc123', api_key: 'va_xxx' },
    },
  ],
} as const;

export const updateAgentBody = {
  ...createAgentBody,
  required: [],
  properties: {
    ...createAgentBody.properties,
    has_config: {
      type: 'boolean',
      description: 'Read-only: accepted and ignored, so that an agent read with GET can be sent back.',
    },
  },
  examples: [{ is_active: false }, { config: null }],
} as const;

export const agentListQuery = listQuery({
  provider: { type: 'string', enum: AGENT_PROVIDERS, description: 'Only agents of this provider.' },
});

export const validateAgentSchema = {
  type: 'object',
  required: ['valid', 'message'],
  properties: {
    valid: { type: 'boolean' },
    message: { type: 'string' },
    details: {
      type: 'object',
      required: ['error_code'],
      properties: {
        error_code: {
          type: 'string',
          enum: CONFIG_ERROR_CODES,
        },
        field: { type: 'string' },
      },
    },
  },
} as const;

// ---- test runs

export const RUN_STATUSES = ['pending', 'running', 'grading', 'completed', 'failed', 'canceled'] as const;

const failureKind = {
  type: 'string',
  enum: FAILURE_KINDS,
  description: '`failed` (an assertion failed) or `error` (the test could not run).',
};

/** One failing test as the API and the `standard` payload show it: every key present. */
export const failureSchema = {
  type: 'object',
  required: ['name', 'classname', 'file', 'message', 'kind'],
  properties: {
    name: { type: 'string' },
    classname: nullable('string'),
    file: nullable('string'),
    message: nullable('string'),
    kind: failureKind,
  },
} as const;

const failureInput = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: FAILURE_LIMITS.name },
    classname: {
      type: ['string', 'null'],
      description: `Cut to ${FAILURE_LIMITS.location} characters.`,
    },
    file: { type: ['string', 'null'], description: `Cut to ${FAILURE_LIMITS.location} characters.` },
    message: {
      type: ['string', 'null'],
      description: `Cut to ${FAILURE_LIMITS.message} characters (the last one \`…\`).`,
    },
    kind: { ...failureKind, default: 'failed' },
  },
};

const failuresInput = {
  type: 'array',
  maxItems: FAILURE_LIMITS.perRun,
  items: failureInput,
  description: `The failing tests, at most ${FAILURE_LIMITS.perRun}; replaces what the run had.`,
};

const positiveInt = { type: 'integer', minimum: 1, maximum: 1_000_000_000 };

export const scoreSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['points_awarded', 'max_points'],
  properties: {
    points_awarded: { type: 'number', minimum: 0 },
    max_points: { type: 'number', minimum: 0 },
  },
};

export const criterionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['criterion', 'decision'],
  properties: {
    criterion: { type: 'string', minLength: 1, maxLength: 2000 },
    decision: { type: 'string', enum: CRITERION_DECISIONS },
    points_awarded: { type: ['number', 'null'] },
    max_points: { type: ['number', 'null'] },
    rationale: { type: ['string', 'null'], maxLength: RESULT_LIMITS.message },
  },
};

/** One scenario result as a caller sends it (docs/api.md#scenario-results). */
const resultInput = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'status'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: RESULT_LIMITS.name },
    suite: { type: ['string', 'null'], maxLength: RESULT_LIMITS.suite, description: 'JUnit’s classname.' },
    status: { type: 'string', enum: RESULT_STATUSES },
    duration_ms: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000_000_000 },
    message: {
      type: ['string', 'null'],
      description: `Cut to ${RESULT_LIMITS.message} characters (the last one \`…\`).`,
    },
    attempts: {
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 1000,
      description: 'Runs of this test within this run.',
    },
    score: scoreSchema,
    criteria: { type: ['array', 'null'], maxItems: RESULT_LIMITS.criteria, items: criterionSchema },
  },
};

/** A run's scenario results; the limit (RUNHOOK_MAX_RESULTS, 1,000 per chunk) is checked by the route: 413. */
export const resultsInput = {
  type: 'array',
  items: resultInput,
  description:
    'Every scenario’s outcome. The run’s counts come from them (skipped ones are not in total_scenarios); a test (suite, name) at most once per run.',
};

const baselineRunId = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description:
    'The run to compare with when this one finishes (its UUID or `TR-` id); default: the agent’s latest earlier completed or failed run of the same test suite (or name).',
};

export const addResultsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['results'],
  properties: { results: { ...resultsInput, description: `At most ${RESULT_LIMITS.perChunk} per request.` } },
  examples: [
    {
      results: [
        { name: 'greets the caller', suite: 'triage.intake', status: 'passed', duration_ms: 2100 },
        {
          name: 'escalates chest pain',
          suite: 'triage.emergency',
          status: 'failed',
          message: 'expected a referral, got self-care advice',
          attempts: 2,
        },
      ],
    },
  ],
} as const;

export const addResultsResponse = {
  type: 'object',
  required: ['accepted', 'total'],
  properties: {
    accepted: { type: 'integer', description: 'Results stored by this request.' },
    total: { type: 'integer', description: 'Results the run holds now.' },
  },
} as const;

const scenarioRunSchema = {
  type: 'object',
  required: [
    'id',
    'test_run_id',
    'run_id',
    'scenario_id',
    'scenario_name',
    'suite',
    'status',
    'passed',
    'duration_ms',
    'error_message',
    'attempts',
    'score',
    'criteria_results',
    'change',
    'created_at',
    'completed_at',
  ],
  properties: {
    id: { type: 'string', description: 'This result’s id.' },
    test_run_id: { type: 'string', description: 'The run’s human id (`TR-00042`).' },
    run_id: uuid,
    scenario_id: { type: 'string', description: 'The test’s stable id within its agent.' },
    scenario_name: { type: 'string' },
    suite: nullable('string'),
    status: { type: 'string', enum: RESULT_STATUSES },
    passed: { type: ['boolean', 'null'], description: 'null when skipped.' },
    duration_ms: nullable('integer'),
    error_message: nullable('string'),
    attempts: { type: 'integer' },
    score: scoreSchema,
    criteria_results: { type: ['array', 'null'], items: criterionSchema },
    change: { type: 'string', enum: RESULT_CHANGES },
    created_at: isoTime,
    completed_at: isoTimeOrNull,
  },
} as const;

export { scenarioRunSchema };

export const scenarioRunListQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['test_run_id'],
  properties: {
    test_run_id: { type: 'string', minLength: 1, description: 'The run’s UUID or `TR-` id.' },
    status: { type: 'string', enum: RESULT_STATUSES },
    passed: { type: 'boolean' },
    change: { type: 'string', enum: RESULT_CHANGES },
    q: { type: 'string', maxLength: 500, description: 'Part of the test’s name or suite, any case.' },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_LIMIT,
      default: 50,
      description: '1 to 100; default 50.',
    },
    offset: pageQuery.offset,
  },
} as const;

export const resultIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'The scenario result’s id.' } },
} as const;

/** Every key of a run as the API shows it (src/http/present.ts writes them all). */
const runRequired = [
  'id',
  'test_run_id',
  'name',
  'agent_id',
  'agent_name',
  'status',
  'passed_count',
  'failed_count',
  'error_count',
  'total_scenarios',
  'pass_rate',
  'started_at',
  'completed_at',
  'duration_seconds',
  'created_at',
  'failures',
  'test_suite_id',
  'test_suite_name',
  'test_mode',
  'max_scenarios',
  'max_turns',
  'deliveries_expired_at',
  'baseline_run_id',
  'changes',
  'score',
  'group',
  'group_size',
] as const;

export const runSchema = {
  type: 'object',
  required: runRequired,
  properties: {
    id: uuid,
    test_run_id: { type: 'string', examples: ['TR-00042'] },
    name: { type: 'string' },
    agent_id: uuid,
    agent_name: { type: 'string' },
    status: { type: 'string', enum: RUN_STATUSES },
    passed_count: { type: 'integer' },
    failed_count: { type: 'integer' },
    error_count: { type: 'integer' },
    total_scenarios: { type: 'integer' },
    pass_rate: { type: 'number', minimum: 0, maximum: 100 },
    started_at: isoTime,
    completed_at: isoTimeOrNull,
    duration_seconds: nullable('integer'),
    created_at: isoTime,
    failures: { type: 'array', items: failureSchema },
    test_suite_id: nullable('string'),
    test_suite_name: {
      ...nullable('string'),
      description:
        "The name of the organization's test suite whose id is `test_suite_id`; null when none is.",
    },
    test_mode: { type: ['string', 'null'], enum: [...TEST_MODES, null] },
    max_scenarios: nullable('integer'),
    max_turns: nullable('integer'),
    deliveries_expired_at: {
      ...isoTimeOrNull,
      description:
        "When retention (RUNHOOK_RETENTION) deleted this run's deliveries and attempts; null while they are kept. The run itself is never deleted.",
    },
    baseline_run_id: {
      type: ['string', 'null'],
      description: 'The baseline the caller named; null: chosen when the run finished (see `changes`).',
    },
    changes: { ...changesSchema, type: ['object', 'null'] },
    score: {
      type: ['number', 'null'],
      description: 'Points awarded / max points × 100 over the scored results; null without scores.',
    },
    group: { ...nullable('string'), description: 'The run group it joined; null: none.' },
    group_size: { ...nullable('integer'), description: 'The group size this run gave; null: none.' },
  },
} as const;

/** GET /runs/{id}/results. */
export const runResultsResponse = {
  type: 'object',
  required: ['test_run', 'changes', 'summary', 'scenario_runs', 'total'],
  properties: {
    test_run: runSchema,
    changes: { ...changesSchema, type: ['object', 'null'] },
    summary: {
      type: 'object',
      required: ['passed', 'failed', 'error', 'skipped', 'flaky'],
      properties: {
        passed: { type: 'integer' },
        failed: { type: 'integer' },
        error: { type: 'integer' },
        skipped: { type: 'integer' },
        flaky: { type: 'integer' },
      },
    },
    scenario_runs: { type: 'array', items: scenarioRunSchema, description: 'The first 50, failed first.' },
    total: { type: 'integer' },
  },
} as const;

const agentTestSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'suite',
    'state',
    'last_status',
    'last_run_at',
    'runs',
    'failures',
    'fail_rate',
    'flaky',
    'flips',
    'last_failure_message',
    'recent',
  ],
  properties: {
    id: { type: 'string', description: 'The test’s id (`scenario_id` of its results).' },
    name: { type: 'string' },
    suite: nullable('string'),
    state: { type: 'string', enum: ['failing', 'flaky', 'passing'] },
    last_status: { type: ['string', 'null'], enum: [...RESULT_STATUSES, null] },
    last_run_at: isoTimeOrNull,
    runs: { type: 'integer', description: 'Results among its last 20.' },
    failures: { type: 'integer', description: 'Failed or errored among its last 20.' },
    fail_rate: { type: 'number', description: 'failures / (runs − skipped) × 100, 2 decimals.' },
    flaky: { type: 'boolean' },
    flips: { type: 'integer', description: 'Changes between passing and failing in its last 10 runs.' },
    last_failure_message: nullable('string'),
    recent: {
      type: 'array',
      items: { type: 'string', enum: RESULT_STATUSES },
      description: 'Its last 20 outcomes, newest first.',
    },
  },
} as const;

export const agentTestsResponse = {
  type: 'object',
  required: ['tests', 'total', 'limit', 'offset'],
  properties: {
    tests: { type: 'array', items: agentTestSchema },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
} as const;

export const agentTestsQuery = listQuery({
  state: { type: 'string', enum: ['failing', 'flaky', 'passing'] },
  q: { type: 'string', maxLength: 500, description: 'Part of the test’s name or suite, any case.' },
});

export const testHistoryResponse = {
  type: 'object',
  required: ['test', 'results', 'total', 'limit', 'offset'],
  properties: {
    test: agentTestSchema,
    results: { type: 'array', items: scenarioRunSchema },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
} as const;

/** The 201 answer of POST /runs: the run, and where to poll it. */
export const createdRunSchema = {
  type: 'object',
  required: [...runRequired, 'poll_url'],
  properties: {
    ...runSchema.properties,
    poll_url: {
      type: 'string',
      examples: ['/api/v1/runs/7c9e6679-7425-40de-944b-e07fc1f90ae7'],
      description: 'Path of GET /runs/{id} for this run.',
    },
  },
} as const;

/** The answer of POST /runs/{id}/cancel: the run and a message. */
export const canceledRunSchema = {
  type: 'object',
  required: [...runRequired, 'message'],
  properties: {
    ...runSchema.properties,
    message: { type: 'string', examples: ['Test run cancellation initiated'] },
  },
} as const;

/** A run group (docs/delivery.md#run-groups): one `test_run_group_completed` when all its runs are final. */
const runGroup = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  pattern: NAME_TEXT_PATTERN,
  description:
    'The run group to join, e.g. a CI build id: one `test_run_group_completed` event when all its runs are final.',
} as const;

const finishFields = {
  passed_count: count,
  failed_count: count,
  error_count: count,
  total_scenarios: count,
  completed_at: isoTime,
};

export const createRunBody = {
  type: 'object',
  additionalProperties: false,
  required: ['agent_id'],
  properties: {
    agent_id: uuid,
    name,
    started_at: isoTime,
    status: { type: 'string', enum: RUN_STATUSES },
    ...finishFields,
    failures: failuresInput,
    results: resultsInput,
    baseline_run_id: baselineRunId,
    test_suite_id: { type: 'string', minLength: 1, maxLength: LIMITS.name, pattern: NAME_TEXT_PATTERN },
    test_mode: { type: 'string', enum: TEST_MODES },
    max_scenarios: positiveInt,
    max_turns: positiveInt,
    group: runGroup,
    group_size: { ...positiveInt, description: 'How many runs the group expects (at least 1).' },
  },
  examples: [
    {
      agent_id: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
      name: 'Emergency Response Test',
      total_scenarios: 20,
    },
    {
      agent_id: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
      name: 'Nightly',
      status: 'completed',
      passed_count: 17,
      failed_count: 3,
      error_count: 0,
    },
  ],
} as const;

export const completeRunBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['completed', 'failed'] },
    ...finishFields,
    failures: failuresInput,
    results: resultsInput,
    baseline_run_id: baselineRunId,
  },
  examples: [{ status: 'completed', passed_count: 17, failed_count: 3, error_count: 0 }],
} as const;

export const cancelRunBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...finishFields },
} as const;

export const runListQuery = listQuery({
  status: { type: 'string', enum: RUN_STATUSES },
  agent_id: uuid,
});

// ---- webhooks

const headerMap = {
  type: 'object',
  maxProperties: LIMITS.headers,
  additionalProperties: { type: 'string', maxLength: LIMITS.headerValue },
  description: 'Custom headers sent with every delivery (at most 10).',
};

const filterStatuses = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: FINAL_RUN_STATUSES },
  description: 'Only runs that ended with one of these statuses.',
};
const belowPassRate = {
  type: 'number',
  exclusiveMinimum: 0,
  maximum: 100,
  description: 'Only runs whose pass rate (0–100) is below this number.',
};

/** `null`: every finished run gets a delivery. Both conditions given: both must hold. */
const filterSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    statuses: filterStatuses,
    below_pass_rate: belowPassRate,
    only_changes: {
      type: 'boolean',
      description:
        'Only runs whose status differs from their baseline’s, or with new failures or fixed tests, or without a baseline.',
    },
  },
  description:
    'Which finished runs get a delivery; null = every one. A run left out by an agent’s webhook gets no delivery (no fallback to the org’s).',
  examples: [{ statuses: ['failed'] }, { below_pass_rate: 90 }],
};

const eventsSchema = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: WEBHOOK_EVENT_TYPES },
  description:
    'The event types this webhook receives (docs: delivery.md, "Which webhook receives an event"). Default `["test_run_completed"]`. A `clix` webhook can receive `test_run_completed` only.',
  examples: [['test_run_completed', 'test_status_changed']],
};

export const webhookSchema = {
  type: 'object',
  required: [
    'id',
    'url',
    'description',
    'agent_id',
    'is_enabled',
    'format',
    'headers',
    'has_secret',
    'signature_scheme',
    'public_key',
    'previous_public_key',
    'previous_public_key_expires_at',
    'ordering',
    'waiting_count',
    'last_triggered_at',
    'consecutive_failures',
    'health',
    'disabled_reason',
    'disabled_at',
    'filter',
    'events',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: uuid,
    url: { type: 'string' },
    description: nullable('string'),
    agent_id: { type: ['string', 'null'], format: 'uuid' },
    is_enabled: { type: 'boolean' },
    format: { type: 'string', enum: WEBHOOK_FORMATS },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    has_secret: { type: 'boolean' },
    signature_scheme: {
      type: 'string',
      enum: SIGNATURE_SCHEMES,
      description:
        '`hmac-sha256`: `webhook-signature` carries `v1,` entries made with the secret. `ed25519`: it carries `v1a,` entries made with a key pair Runhook keeps (and `v1,` entries too when a secret is set).',
    },
    public_key: {
      type: ['string', 'null'],
      description:
        '`ed25519` only: `whpk_<base64 of the raw 32-byte public key>`, what receivers verify `v1a` with; null for `hmac-sha256`.',
      examples: ['whpk_CMZ3xIumfXqAsEHEtKIra3/oc3c7T4gY6S2nRgfDYvw='],
    },
    previous_public_key: {
      type: ['string', 'null'],
      description:
        'After a key rotation, the replaced public key, whose `v1a` entry is still sent until `previous_public_key_expires_at`; else null.',
    },
    previous_public_key_expires_at: isoTimeOrNull,
    ordering: {
      type: 'string',
      enum: WEBHOOK_ORDERINGS,
      description:
        '`parallel`: deliveries go out as they come, several at once. `fifo`: one at a time per agent, in event order; the next waits until the one before has succeeded or failed for good.',
    },
    waiting_count: {
      type: 'integer',
      description:
        '`fifo`: deliveries waiting behind an earlier one of their agent that has not succeeded or failed for good yet (a failing one holds the rest back until its retries end); always 0 for `parallel`.',
    },
    last_triggered_at: isoTimeOrNull,
    consecutive_failures: { type: 'integer' },
    health: {
      type: 'string',
      enum: WEBHOOK_HEALTH,
      description:
        '`degraded` from RUNHOOK_DEGRADED_AFTER consecutive failed attempts; `disabled` while off.',
    },
    disabled_reason: {
      type: ['string', 'null'],
      enum: [...DISABLED_REASONS, null],
      description:
        '`manual` (turned off through the API or dashboard), `gone` (answered 410), `failing` (turned off automatically); null while enabled.',
    },
    disabled_at: isoTimeOrNull,
    filter: filterSchema,
    events: eventsSchema,
    created_at: isoTime,
    updated_at: isoTime,
  },
} as const;

const webhookFields = {
  url: { type: 'string', minLength: 1, maxLength: LIMITS.url },
  secret: {
    type: ['string', 'null'],
    minLength: LIMITS.secretMin,
    maxLength: LIMITS.secretMax,
    description:
      'Write-only. `whsec_<base64>` or any string of 8–256 characters not starting with `whpk_` (the prefix of public keys); null clears it.',
  },
  description,
  is_enabled: { type: 'boolean' },
  format: { type: 'string', enum: WEBHOOK_FORMATS },
  headers: headerMap,
  filter: filterSchema,
  events: eventsSchema,
  signature_scheme: {
    type: 'string',
    enum: SIGNATURE_SCHEMES,
    description:
      'Default `hmac-sha256`. Switching to `ed25519` makes a key pair (see `public_key`); switching back drops it.',
  },
  ordering: {
    type: 'string',
    enum: WEBHOOK_ORDERINGS,
    description:
      'Default `parallel`. `fifo`: one delivery in flight at a time per agent, in event order. Switching to `parallel` makes every waiting delivery due at once.',
  },
};

export const createWebhookBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { ...webhookFields, agent_id: { type: ['string', 'null'], format: 'uuid' } },
  examples: [
    { url: 'https://ci.example.com/hooks/runhook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  ],
} as const;

export const updateWebhookBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...webhookFields, agent_id: { type: ['string', 'null'], format: 'uuid' } },
  examples: [{ is_enabled: false }],
} as const;

export const webhookListQuery = listQuery({ agent_id: uuid });

/** POST /webhooks/{id}/test: which event type's sample to send (docs/api.md#test-webhook). */
export const testWebhookBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event_type: {
      type: 'string',
      enum: WEBHOOK_EVENT_TYPES,
      description:
        'Whose sample to send; default `test_run_completed` (the `test` body). Others send that type’s body with `"is_test": true` and all-zero ids.',
    },
  },
  examples: [{ event_type: 'test_status_changed' }],
} as const;

export const testResultSchema = {
  type: 'object',
  required: ['success', 'message', 'http_status', 'response_time_ms', 'delivery_id'],
  properties: {
    success: { type: 'boolean' },
    message: { type: 'string' },
    http_status: nullable('integer'),
    response_time_ms: nullable('integer'),
    delivery_id: uuid,
  },
} as const;

export const statsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { window: { type: 'string', enum: STATS_WINDOWS, default: '24h' } },
} as const;

export const statsSchema = {
  type: 'object',
  required: [
    'window',
    'deliveries',
    'succeeded',
    'failed',
    'pending',
    'success_rate',
    'p50_ms',
    'p95_ms',
    'last_success_at',
    'last_failure_at',
    'buckets',
  ],
  properties: {
    window: { type: 'string', enum: STATS_WINDOWS },
    deliveries: {
      type: 'integer',
      description: 'Event deliveries created in the window (tests and probes are not counted).',
    },
    succeeded: { type: 'integer' },
    failed: { type: 'integer' },
    pending: { type: 'integer' },
    success_rate: {
      type: ['number', 'null'],
      description: 'succeeded / (succeeded + failed) × 100, 2 decimals; null when none has finished.',
    },
    p50_ms: { ...nullable('integer'), description: 'Median last response time of the finished deliveries.' },
    p95_ms: nullable('integer'),
    last_success_at: { ...isoTimeOrNull, description: 'Last event delivery that succeeded, ever.' },
    last_failure_at: { ...isoTimeOrNull, description: 'Last event delivery that ended failed, ever.' },
    buckets: {
      type: 'array',
      description:
        'Oldest first: 24 hourly buckets for 24h, 7 daily (UTC) buckets for 7d; the last is the current one.',
      items: {
        type: 'object',
        required: ['start', 'succeeded', 'failed', 'p95_ms'],
        properties: {
          start: isoTime,
          succeeded: { type: 'integer' },
          failed: { type: 'integer' },
          p95_ms: nullable('integer'),
        },
      },
    },
  },
} as const;

export const recoverBody = {
  type: 'object',
  additionalProperties: false,
  required: ['since'],
  properties: {
    since: { ...isoTime, description: 'Deliveries created at or after this time.' },
    until: {
      ...isoTime,
      description: 'Deliveries created before this time; default now. At most a year after since.',
    },
    dry_run: { type: 'boolean', description: 'Only count; change nothing.' },
  },
  examples: [{ since: '2026-12-02T08:00:00Z', dry_run: true }],
} as const;

export const recoverResultSchema = {
  type: 'object',
  required: ['count', 'dry_run'],
  properties: {
    count: {
      type: 'integer',
      description: 'Failed deliveries queued again (or that would be, with dry_run).',
    },
    dry_run: { type: 'boolean' },
  },
} as const;

// ---- deliveries

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;

/** Every key of a delivery as the API shows it. */
const deliveryRequired = [
  'id',
  'event_id',
  'webhook_id',
  'kind',
  'test_run_id',
  'status',
  'attempt_count',
  'next_attempt_at',
  'last_http_status',
  'last_response_time_ms',
  'failure_reason',
  'waiting',
  'created_at',
  'updated_at',
] as const;

export const deliverySchema = {
  type: 'object',
  required: deliveryRequired,
  properties: {
    id: uuid,
    event_id: uuid,
    webhook_id: uuid,
    kind: { type: 'string', enum: DELIVERY_KINDS },
    test_run_id: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'The run an `event` delivery reports; null for `test` and `probe`.',
    },
    status: { type: 'string', enum: DELIVERY_STATUSES },
    attempt_count: { type: 'integer' },
    next_attempt_at: isoTimeOrNull,
    last_http_status: nullable('integer'),
    last_response_time_ms: nullable('integer'),
    failure_reason: { type: ['string', 'null'], enum: [...FAILURE_REASONS, null] },
    waiting: {
      type: 'boolean',
      description:
        'Pending and waiting behind an earlier delivery of its `fifo` webhook and agent (its `next_attempt_at` is null until then).',
    },
    created_at: isoTime,
    updated_at: isoTime,
  },
} as const;

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

export const attemptSchema = {
  type: 'object',
  required: [
    'id',
    'attempt_number',
    'trigger',
    'started_at',
    'response_time_ms',
    'http_status',
    'error_class',
    'error_message',
    'request',
    'response',
  ],
  properties: {
    id: uuid,
    attempt_number: { type: 'integer' },
    trigger: { type: 'string', enum: ATTEMPT_TRIGGERS },
    started_at: isoTime,
    response_time_ms: nullable('integer'),
    http_status: nullable('integer'),
    error_class: {
      type: ['string', 'null'],
      enum: [
        'timeout',
        'connection_refused',
        'connection_reset',
        'dns',
        'tls',
        'ssrf_blocked',
        'http_status',
        'worker_lost',
        null,
      ],
    },
    error_message: nullable('string'),
    request: {
      type: 'object',
      required: ['url', 'headers', 'body'],
      properties: { url: { type: 'string' }, headers: stringMap, body: { type: 'string' } },
    },
    response: {
      type: ['object', 'null'],
      required: ['headers', 'body', 'truncated'],
      properties: { headers: stringMap, body: { type: 'string' }, truncated: { type: 'boolean' } },
    },
  },
} as const;

export const deliveryDetailSchema = {
  type: 'object',
  required: [...deliveryRequired, 'attempts', 'payload', 'event'],
  properties: {
    ...deliverySchema.properties,
    attempts: { type: 'array', items: attemptSchema },
    payload: {
      type: 'object',
      additionalProperties: true,
      description:
        "The event's payload (the `standard` format); each attempt's request shows the bytes sent.",
    },
    event: {
      type: 'object',
      required: ['id', 'type', 'test_run_id', 'payload', 'created_at'],
      properties: {
        id: uuid,
        type: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES, 'test'] },
        test_run_id: { type: ['string', 'null'] },
        payload: { type: 'object', additionalProperties: true },
        created_at: isoTime,
      },
    },
  },
} as const;

const kindQuery = { type: 'string', enum: DELIVERY_KINDS };

export const deliveryListQuery = listQuery({
  status: { type: 'string', enum: DELIVERY_STATUSES },
  kind: kindQuery,
  webhook_id: uuid,
  test_run_id: {
    type: 'string',
    pattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|TR-[0-9]{5,})$',
    description: 'The test run: its UUID or its TR- id (`TR-00042`).',
    examples: ['TR-00042'],
  },
  event_id: {
    ...uuid,
    description: 'The event: the `webhook-id` header of what your receiver got.',
  },
});

export const deliveryStreamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    webhook_id: uuid,
    status: {
      type: 'string',
      enum: DELIVERY_STATUSES,
      description: "Only attempts after which the delivery's status is this one.",
    },
  },
};

export const webhookDeliveryListQuery = listQuery({
  status: { type: 'string', enum: DELIVERY_STATUSES },
  kind: kindQuery,
});

// ---- API keys

export const apiKeySchema = {
  type: 'object',
  required: ['id', 'name', 'prefix', 'created_at', 'expires_at', 'last_used_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    prefix: { type: 'string' },
    created_at: isoTime,
    expires_at: isoTimeOrNull,
    last_used_at: isoTimeOrNull,
  },
} as const;

export const createdApiKeySchema = {
  type: 'object',
  required: ['id', 'name', 'key', 'created_at', 'expires_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    key: { type: 'string', description: 'Shown only in this answer.' },
    created_at: isoTime,
    expires_at: isoTimeOrNull,
  },
} as const;

export const createApiKeyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name, expires_at: { type: ['string', 'null'], format: 'date-time' } },
  examples: [{ name: 'CI pipeline' }],
} as const;
