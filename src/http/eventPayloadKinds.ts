/**
 * The documented bodies of the event types beside `test_run_completed` (docs/payloads.md): their
 * entries in the OpenAPI document's `webhooks` section and in docs/payloads.md, beside the
 * finished run's in src/http/payloadSchemas.ts.
 */
import {
  otherEventSample,
  testRunStartedSchema,
  testStatusChangedSchema,
  webhookDisabledSchema,
  webhookRecoveredSchema,
} from '../domain/eventPayloads.js';
import { groupCompletedPayloadSchema } from '../domain/payloadSchemas.js';
import type { PayloadKind } from './payloadSchemas.js';

/** The event types beside `test_run_completed` whose `standard` body is documented with an example. */
export type SampledEventType =
  | 'test_run_started'
  | 'test_status_changed'
  | 'webhook_disabled'
  | 'webhook_recovered';

const CHAT_NOTE =
  'In `slack`, `discord` and `teams` format it arrives as a message of the same shape as a finished run’s ' +
  '(a heading, its facts, a link); a `clix` webhook cannot subscribe to it.';

export const OTHER_EVENT_KINDS: readonly PayloadKind[] = [
  {
    key: 'test_run_group_completed',
    example: 'group',
    format: 'standard',
    schemaName: 'TestRunGroupCompletedPayload',
    schema: groupCompletedPayloadSchema,
    title: 'A run group completed (format `standard`)',
    description:
      'Sent once per run group (runs created with the same `group`, e.g. a CI build id) when every run of ' +
      'the group is final and either `group_size` runs joined or none joined or finished for ' +
      '`RUNHOOK_GROUP_WINDOW` (docs/delivery.md, "Run groups"). Goes to the webhooks subscribed to it: the agent’s when all the ' +
      'runs have one agent (else, or when it has none, the organization’s). Webhooks in `slack`, `discord` and `teams` format get the ' +
      'group as a message of the same shape as a run’s (outcome, summed counts, the runs, the new failures); ' +
      '`clix` cannot carry it and gets none. Deduplicate on `webhook-id` or `group.name`.',
  },
  {
    key: 'test_run_started',
    example: 'test_run_started',
    format: 'standard',
    schemaName: 'TestRunStartedPayload',
    schema: testRunStartedSchema,
    title: 'A test run started (`test_run_started`)',
    description:
      'Sent once when a run enters `running` (created by `POST /runs` with no `status` or `status: "running"`; a run created `pending`, `grading` or finished gets none), to the webhooks subscribed ' +
      `to it. ${CHAT_NOTE}`,
  },
  {
    key: 'test_status_changed',
    example: 'test_status_changed',
    format: 'standard',
    schemaName: 'TestStatusChangedPayload',
    schema: testStatusChangedSchema,
    title: 'A test’s state changed (`test_status_changed`)',
    description:
      'Sent once per change of a test’s state (`failing`, `flaky`, `passing` again), computed over its recent ' +
      'results when a run with scenario results finishes; one event per test that changed, in the run’s ' +
      `transaction. ${CHAT_NOTE}`,
  },
  {
    key: 'webhook_disabled',
    example: 'webhook_disabled',
    format: 'standard',
    schemaName: 'WebhookDisabledPayload',
    schema: webhookDisabledSchema,
    title: 'One of your webhooks was disabled (`webhook_disabled`)',
    description:
      'Sent to the organization’s other webhooks subscribed to it (never to the endpoint concerned) when the ' +
      'system turns a webhook off (`gone`, `failing`): once per transition, at most one per webhook every ' +
      `RUNHOOK_ALERT_INTERVAL (a newer one replaces one still waiting). ${CHAT_NOTE}`,
  },
  {
    key: 'webhook_recovered',
    example: 'webhook_recovered',
    format: 'standard',
    schemaName: 'WebhookRecoveredPayload',
    schema: webhookRecoveredSchema,
    title: 'A disabled webhook is back (`webhook_recovered`)',
    description:
      'Sent like `webhook_disabled` when a webhook the system had turned off is enabled again, by a probe ' +
      `answered 2xx or by a person. ${CHAT_NOTE}`,
  },
];

/** A real-looking body of another event type: its Test Webhook sample, with the sample run's ids and without `is_test`. */
export function otherEventExample(
  type: SampledEventType,
  at: number,
  sample: { runId: string; publicUrl: string },
): object {
  const event = otherEventSample(type, at, sample.publicUrl);
  if (event === null) throw new Error(`no sample of ${type}`);
  const { is_test: _test, ...body } = event;
  return JSON.parse(
    JSON.stringify(body)
      .replaceAll('00000000-0000-0000-0000-000000000000', sample.runId)
      .replaceAll('TR-00000', 'TR-00042'),
  );
}
