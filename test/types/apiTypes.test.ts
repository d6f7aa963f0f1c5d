/**
 * One source for the API's response shapes: src/http/schemas.ts, which validates and serializes
 * them and makes /openapi.json. The dashboard, which may import src/domain/ alone
 * (docs/architecture.md#the-parts), gets a generated web/src/apiTypes.ts; the test suites read the
 * same file. This test fails when that file is not what the schemas give. To regenerate:
 *   UPDATE_TYPES=1 npx vitest run test/types/apiTypes.test.ts
 * The type-level checks at the end make `npm run lint` fail when what src/http/present.ts writes
 * no longer fits the generated types.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { changesSchema } from '../../src/domain/payloadSchemas.js';
import type {
  presentAgent,
  presentAgentTest,
  presentApiKey,
  presentAttempt,
  presentDelivery,
  presentRun,
  presentScenarioRun,
  presentWebhook,
} from '../../src/http/present.js';
import { liveAttemptSchema, type presentFeedItem } from '../../src/http/routes/deliveryStream.js';
import {
  agentSchema,
  agentTestsResponse,
  apiKeySchema,
  attemptSchema,
  createdApiKeySchema,
  criterionSchema,
  DELIVERY_STATUSES,
  deliveryDetailSchema,
  deliverySchema,
  failureSchema,
  RUN_STATUSES,
  recoverResultSchema,
  runResultsResponse,
  runSchema,
  scenarioRunSchema,
  scoreSchema,
  statsSchema,
  testHistoryResponse,
  testResultSchema,
  validateAgentSchema,
  webhookSchema,
} from '../../src/http/schemas.js';
import type * as Api from '../../web/src/apiTypes.js';
import { TypeWriter } from './schemaToTs.js';

const API_TYPES = fileURLToPath(new URL('../../web/src/apiTypes.ts', import.meta.url));

const HEADER = `/**
 * The REST API's objects as its answers hold them (docs/api.md and /openapi.json; JSON is snake_case).
 * Times are UTC ISO-8601 strings such as \`2026-01-30T10:32:45Z\`.
 *
 * Generated from src/http/schemas.ts; do not edit. After changing the schemas, run
 * UPDATE_TYPES=1 npx vitest run test/types/apiTypes.test.ts
 */
`;

/** A nullable object schema as the object alone, so it is declared once and used as `X | null`. */
const nonNull = (schema: Record<string, unknown>) => ({ ...schema, type: 'object' });

function constant(name: string, values: readonly string[], doc: string): string {
  return `\n/** ${doc} */\nexport const ${name} = [${values.map((v) => `'${v}'`).join(', ')}] as const;\n`;
}

function apiTypes(): string {
  const writer = new TypeWriter([
    { name: 'Agent', schema: agentSchema },
    {
      name: 'AgentValidation',
      schema: validateAgentSchema,
      doc: 'POST /agents/{id}/validate: a shape check of the config, the provider is not contacted.',
    },
    {
      name: 'TestFailure',
      schema: failureSchema,
      doc: 'One failing test of a run (docs/api.md, "Failures").',
    },
    {
      name: 'RunChanges',
      schema: changesSchema,
      doc: 'What changed since the baseline run (docs/api.md#what-changed).',
    },
    { name: 'TestRun', schema: runSchema },
    { name: 'Score', schema: nonNull(scoreSchema) },
    { name: 'CriterionResult', schema: criterionSchema },
    { name: 'ScenarioRun', schema: scenarioRunSchema, doc: "One scenario's outcome in one run." },
    { name: 'ResultSummary', schema: runResultsResponse.properties.summary },
    { name: 'RunResults', schema: runResultsResponse, doc: 'GET /runs/{id}/results.' },
    {
      name: 'AgentTest',
      schema: agentTestsResponse.properties.tests.items,
      doc: 'A test of an agent over its last 20 results.',
    },
    { name: 'TestHistory', schema: testHistoryResponse, doc: 'GET /agents/{id}/tests/{test_id}/history.' },
    { name: 'WebhookFilter', schema: nonNull(webhookSchema.properties.filter) },
    { name: 'Webhook', schema: webhookSchema },
    { name: 'WebhookTestResult', schema: testResultSchema, doc: 'POST /webhooks/{id}/test.' },
    { name: 'WebhookStats', schema: statsSchema, doc: 'GET /webhooks/{id}/stats: event deliveries only.' },
    { name: 'RecoverResult', schema: recoverResultSchema, doc: 'POST /webhooks/{id}/recover.' },
    { name: 'Delivery', schema: deliverySchema },
    { name: 'Attempt', schema: attemptSchema },
    {
      name: 'LiveAttempt',
      schema: liveAttemptSchema,
      doc: 'An `attempt` event of GET /deliveries/stream (docs/api.md#live-tail).',
    },
    {
      name: 'RunhookEvent',
      schema: deliveryDetailSchema.properties.event,
      doc: 'The event a delivery carries.',
    },
    { name: 'DeliveryDetail', schema: deliveryDetailSchema, doc: 'GET /deliveries/{id}.' },
    { name: 'ApiKey', schema: apiKeySchema },
    {
      name: 'CreatedApiKey',
      schema: createdApiKeySchema,
      doc: 'POST /api-keys: the key is shown only here.',
    },
  ]);
  return writer.file(
    HEADER,
    constant('RUN_STATUSES', RUN_STATUSES, "A run's statuses, in the order a run goes through them.") +
      constant('DELIVERY_STATUSES', DELIVERY_STATUSES, "A delivery's statuses."),
  );
}

describe('generated API types', () => {
  it('web/src/apiTypes.ts is what src/http/schemas.ts gives', () => {
    const expected = apiTypes();
    if (process.env.UPDATE_TYPES === '1') writeFileSync(API_TYPES, expected);
    expect(readFileSync(API_TYPES, 'utf8')).toBe(expected);
  });
});

// Type-level: what the presenters write is what the generated types say, every required key included.
type Fits<A, B> = [A] extends [B] ? true : false;
/** Every key B requires is there and never undefined: what the serializer needs of a `required` list. */
type HasKeys<A, B> = Fits<
  A,
  {
    [K in keyof B as Record<never, never> extends Pick<B, K> ? never : K]:
      | string
      | number
      | boolean
      | object
      | null;
  }
>;
const fits: [
  Fits<ReturnType<typeof presentAgent>, Api.Agent>,
  Fits<ReturnType<typeof presentRun>, Api.TestRun>,
  Fits<ReturnType<typeof presentScenarioRun>, Api.ScenarioRun>,
  // The store reads a test's state as a string.
  HasKeys<ReturnType<typeof presentAgentTest>, Api.AgentTest>,
  Fits<ReturnType<typeof presentWebhook>, Api.Webhook>,
  Fits<ReturnType<typeof presentDelivery>, Api.Delivery>,
  Fits<ReturnType<typeof presentAttempt>, Api.Attempt>,
  Fits<ReturnType<typeof presentApiKey>, Api.ApiKey>,
  Fits<ReturnType<typeof presentFeedItem>, Api.LiveAttempt>,
] = [true, true, true, true, true, true, true, true, true];
void fits;
