/**
 * JSON schemas of the test-suite routes (docs/api.md#test-suites), beside those of src/http/schemas.ts
 * and in the same style: bodies refuse unknown fields; the OpenAPI document is generated from them.
 */
import { LIMITS } from '../domain/validateWebhook.js';

/** At most this many scenario ids in a suite. */
export const MAX_SCENARIO_IDS = 1_000;

const isoTime = { type: 'string', format: 'date-time', examples: ['2026-01-30T10:32:45Z'] };

const scenarioIds = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_SCENARIO_IDS,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: LIMITS.name },
  description: `The scenarios of the suite: 1 to ${MAX_SCENARIO_IDS} distinct ids (strings of 1–200 characters), in order. Runhook stores them as given.`,
};

const suiteFields = {
  name: { type: 'string', minLength: 1, maxLength: LIMITS.name, description: 'Unique in your organization.' },
  description: {
    type: ['string', 'null'],
    maxLength: LIMITS.description,
    description: 'null (or an empty string) means none; shown as null.',
  },
  scenario_ids: scenarioIds,
};

export const createTestSuiteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scenario_ids'],
  properties: suiteFields,
  examples: [
    {
      name: 'Critical Care Scenarios',
      description: 'High-priority emergency scenarios',
      scenario_ids: ['scenario-uuid-1', 'scenario-uuid-2', 'scenario-uuid-3'],
    },
  ],
} as const;

export const updateTestSuiteBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...suiteFields,
    scenario_count: { type: 'integer', description: 'Read-only: accepted and ignored.' },
  },
  description: 'At least one of name, description, scenario_ids.',
  examples: [{ name: 'Emergency Triage v2' }, { scenario_ids: ['new-scenario-1', 'new-scenario-2'] }],
} as const;

/** A suite as POST /test-suites and the list show it. */
export const testSuiteSummarySchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    scenario_count: { type: 'integer' },
    created_at: isoTime,
  },
} as const;

/** A suite as GET, PUT and PATCH /test-suites/{id} show it. */
export const testSuiteSchema = {
  type: 'object',
  properties: {
    ...testSuiteSummarySchema.properties,
    scenario_ids: { type: 'array', items: { type: 'string' } },
    updated_at: isoTime,
  },
} as const;
