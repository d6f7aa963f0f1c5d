/**
 * One source for the payload types: src/domain/payloadSchemas.ts. The domain derives its types
 * from those schemas (json-schema-to-ts); the SDK, which may depend on nothing, gets a generated
 * sdk/types.ts. This test fails when that file is not what the schemas give. To regenerate:
 *   UPDATE_TYPES=1 npx vitest run test/types/generatedTypes.test.ts
 * The type-level checks at the end make `npm run lint` fail if the two ever differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as Sdk from '../../sdk/types.js';
import type * as Events from '../../src/domain/eventPayloads.js';
import {
  testRunStartedSchema,
  testStatusChangedSchema,
  webhookDisabledSchema,
  webhookRecoveredSchema,
} from '../../src/domain/eventPayloads.js';
import type * as Domain from '../../src/domain/payloadSchemas.js';
import {
  clixPayloadSchema,
  failureSchema,
  groupCompletedPayloadSchema,
  payloadTestRunSchema,
  standardPayloadSchema,
  testPayloadSchema,
} from '../../src/domain/payloadSchemas.js';
import { TypeWriter } from './schemaToTs.js';

const SDK_TYPES = fileURLToPath(new URL('../../sdk/types.ts', import.meta.url));

const SDK_HEADER = `/**
 * The bodies Runhook POSTs to a webhook, as described in Runhook's docs/payloads.md.
 * Times are UTC ISO-8601 to the second (\`2026-01-30T10:32:45Z\`).
 *
 * Generated from src/domain/payloadSchemas.ts and src/domain/eventPayloads.ts; do not edit. After changing the schemas, run
 * UPDATE_TYPES=1 npx vitest run test/types/generatedTypes.test.ts
 */
`;

function sdkTypes(): string {
  const writer = new TypeWriter([
    { name: 'TestFailure', schema: failureSchema, doc: 'One failing test of a run.' },
    {
      name: 'TestRunSummary',
      schema: payloadTestRunSchema,
      doc: 'The test run as it appears inside a `standard` payload.',
    },
    {
      name: 'TestRunCompletedEvent',
      schema: standardPayloadSchema,
      doc: 'Format `standard`: sent once per finished test run (and on each retry, byte for byte).',
    },
    {
      name: 'TestEvent',
      schema: testPayloadSchema,
      doc: 'Format `standard`, sent by "Test Webhook": a sample run with all-zero UUIDs.',
    },
    {
      name: 'TestRunGroupCompletedEvent',
      schema: groupCompletedPayloadSchema,
      doc: 'Format `standard`: sent once per run group when all its runs are final (docs/delivery.md, "Run groups").',
    },
    { name: 'ClixPayload', schema: clixPayloadSchema, doc: 'Format `clix` (TestCLIX-compatible).' },
    {
      name: 'TestRunStartedEvent',
      schema: testRunStartedSchema,
      doc: 'Format `standard`: a test run entered `running`.',
    },
    {
      name: 'TestStatusChangedEvent',
      schema: testStatusChangedSchema,
      doc: 'Format `standard`: a test became `failing`, `flaky` or `passing` again.',
    },
    {
      name: 'WebhookDisabledEvent',
      schema: webhookDisabledSchema,
      doc: "Format `standard`: another of the organization's webhooks was disabled by the system.",
    },
    {
      name: 'WebhookRecoveredEvent',
      schema: webhookRecoveredSchema,
      doc: "Format `standard`: another of the organization's webhooks is enabled again.",
    },
  ]);
  return writer.file(
    SDK_HEADER,
    "\n/** A finished run's `standard` body, or a Test Webhook send. Switch on `event`. */\nexport type RunhookEvent = TestRunCompletedEvent | TestEvent;\n" +
      '\n/** Any `standard` body, of every event type a webhook can subscribe to. Switch on `event`. */\nexport type AnyRunhookEvent =\n  | RunhookEvent\n  | TestRunStartedEvent\n  | TestStatusChangedEvent\n  | WebhookDisabledEvent\n  | WebhookRecoveredEvent\n  | TestRunGroupCompletedEvent;\n',
  );
}

describe('generated types', () => {
  it('sdk/types.ts is what src/domain/payloadSchemas.ts gives', () => {
    const expected = sdkTypes();
    if (process.env.UPDATE_TYPES === '1') writeFileSync(SDK_TYPES, expected);
    expect(readFileSync(SDK_TYPES, 'utf8')).toBe(expected);
  });
});

// Type-level: the SDK's generated types and the domain's derived ones are the same types.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same: [
  Equal<Sdk.TestFailure, Domain.PayloadFailure>,
  Equal<Sdk.TestRunCompletedEvent['changes'], Domain.RunChanges>,
  Equal<Sdk.TestRunSummary, Domain.StandardPayloadTestRun>,
  Equal<Sdk.TestRunCompletedEvent, Domain.TestRunCompletedEvent>,
  Equal<Sdk.TestEvent, Domain.TestEvent>,
  Equal<Sdk.TestRunGroupCompletedEvent, Domain.TestRunGroupCompletedEvent>,
  Equal<Sdk.RunhookEvent, Domain.StandardPayload>,
  Equal<
    Sdk.AnyRunhookEvent,
    Domain.StandardPayload | Events.OtherEventPayload | Domain.TestRunGroupCompletedEvent
  >,
  Equal<Sdk.ClixPayload, Domain.ClixPayload>,
  Equal<Sdk.TestStatusChangedEvent, Events.TestStatusChangedEvent>,
  Equal<Sdk.WebhookDisabledEvent, Events.WebhookDisabledEvent>,
] = [true, true, true, true, true, true, true, true, true, true, true];
void same;
