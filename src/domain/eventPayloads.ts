/**
 * The `standard` bodies of the event types beside `test_run_completed` (docs/payloads.md,
 * docs/delivery.md#event-types): their JSON schemas, the TypeScript types derived from them, the
 * functions that build them and the samples Test Webhook sends. Each is `{event, timestamp,
 * <object>}`; `is_test: true` follows `event` in a Test Webhook sample. Pure data and functions.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { isoSecond } from './payloadSchemas.js';
import { toIso } from './time.js';
import type { WebhookEventType } from './types.js';

const uuid = { type: 'string', format: 'uuid' } as const;
const TEST_STATES = ['passing', 'failing', 'flaky'] as const;
const isTest = { const: true, description: 'Present (and true) only on Test Webhook sends.' } as const;
const timestamp = {
  ...isoSecond,
  description: 'When the event was created. The body is byte-identical on every retry.',
} as const;
const resultsUrl = {
  type: 'string',
  format: 'uri',
  description: 'The run in the dashboard: `<RUNHOOK_PUBLIC_URL>/runs/<test_run.id>`.',
} as const;

/** `test_run_started`: a run entered `running`. */
export const testRunStartedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event', 'timestamp', 'test_run', 'results_url'],
  properties: {
    event: { const: 'test_run_started', description: 'The event type.' },
    is_test: isTest,
    timestamp,
    test_run: {
      type: 'object',
      additionalProperties: false,
      required: [
        'id',
        'test_run_id',
        'name',
        'agent_id',
        'agent_name',
        'status',
        'total_scenarios',
        'started_at',
      ],
      properties: {
        id: { ...uuid, description: 'The test run’s id; its `test_run_completed` carries the same.' },
        test_run_id: { type: 'string', pattern: '^TR-\\d{5,}$', description: 'Human id: `TR-00042`.' },
        name: { type: 'string', description: 'The run’s name.' },
        agent_id: { ...uuid, description: 'The agent the run belongs to.' },
        agent_name: { type: 'string', description: 'The agent’s name.' },
        status: { const: 'running', description: 'Always `running`.' },
        total_scenarios: {
          type: ['integer', 'null'],
          minimum: 0,
          description: 'The scenarios announced at creation, if any.',
        },
        started_at: { ...isoSecond, description: 'When the run started.' },
      },
    },
    results_url: resultsUrl,
  },
} as const;

/** `test_status_changed`: a test of an agent became `failing`, `flaky` or `passing` again. */
export const testStatusChangedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['event', 'timestamp', 'test', 'test_run', 'results_url'],
  properties: {
    event: { const: 'test_status_changed', description: 'The event type.' },
    is_test: isTest,
    timestamp,
    test: {
      type: 'object',
      additionalProperties: false,
      required: [
        'id',
        'name',
        'suite',
        'agent_id',
        'agent_name',
        'state',
        'previous_state',
        'last_status',
        'message',
      ],
      properties: {
        id: {
          type: 'string',
          description: 'The test’s stable id within its agent (`scenario_id` of scenario results).',
        },
        name: { type: 'string', description: 'The test’s name.' },
        suite: { type: ['string', 'null'], description: 'Its suite (JUnit’s classname), when given.' },
        agent_id: { ...uuid, description: 'The agent the test belongs to.' },
        agent_name: { type: 'string', description: 'The agent’s name.' },
        state: {
          type: 'string',
          enum: [...TEST_STATES],
          description: 'Its state now, over its recent results (docs: api.md, "Test history").',
        },
        previous_state: { type: 'string', enum: [...TEST_STATES], description: 'Its state before this run.' },
        last_status: {
          type: 'string',
          enum: ['passed', 'failed', 'error', 'skipped'],
          description: 'Its outcome in the run that changed it.',
        },
        message: {
          type: ['string', 'null'],
          description: 'The failure message of that outcome, if it failed.',
        },
      },
    },
    test_run: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'test_run_id'],
      description: 'The run whose result changed the test’s state.',
      properties: {
        id: { ...uuid, description: 'The test run’s id.' },
        test_run_id: { type: 'string', pattern: '^TR-\\d{5,}$', description: 'Human id: `TR-00042`.' },
      },
    },
    results_url: resultsUrl,
  },
} as const;

const webhookObject = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'description', 'agent_id', 'host', 'format'],
  description:
    'The endpoint concerned (never the one this body is sent to). Its URL is not sent, only its host: a chat URL is a credential.',
  properties: {
    id: { ...uuid, description: 'The webhook’s id.' },
    description: { type: ['string', 'null'], description: 'Its description.' },
    agent_id: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'Its agent; null for an org-level webhook.',
    },
    host: { type: 'string', description: 'The host (and port, if any) of its URL.' },
    format: { type: 'string', description: 'Its format.' },
  },
} as const;

function healthEventSchema<E extends 'webhook_disabled' | 'webhook_recovered', R extends readonly string[]>(
  event: E,
  reasons: R,
) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['event', 'timestamp', 'webhook', 'reason', 'consecutive_failures', 'dashboard_url'],
    properties: {
      event: { const: event, description: 'The event type.' },
      is_test: isTest,
      timestamp,
      webhook: webhookObject,
      reason: {
        type: 'string',
        enum: reasons,
        description:
          event === 'webhook_disabled'
            ? '`gone` (it answered 410) or `failing` (turned off after its failures, docs: delivery.md, "Endpoint health").'
            : '`probe` (a probe was answered 2xx) or `manual` (turned back on through the API or dashboard).',
      },
      consecutive_failures: {
        type: 'integer',
        minimum: 0,
        description: 'Failed attempts in a row when it changed.',
      },
      dashboard_url: {
        type: 'string',
        format: 'uri',
        description:
          'Where the dashboard shows the webhook: `<RUNHOOK_PUBLIC_URL>/agents/<agent_id>` for an agent’s, `<RUNHOOK_PUBLIC_URL>/settings/webhooks` for an org-level one.',
      },
    },
  } as const;
}

/** `webhook_disabled`: one of the organization's webhooks was turned off by the system. */
export const webhookDisabledSchema = healthEventSchema('webhook_disabled', ['gone', 'failing'] as const);
/** `webhook_recovered`: a webhook the system had turned off is back on. */
export const webhookRecoveredSchema = healthEventSchema('webhook_recovered', ['probe', 'manual'] as const);

export type TestRunStartedEvent = FromSchema<typeof testRunStartedSchema>;
export type TestStatusChangedEvent = FromSchema<typeof testStatusChangedSchema>;
export type WebhookDisabledEvent = FromSchema<typeof webhookDisabledSchema>;
export type WebhookRecoveredEvent = FromSchema<typeof webhookRecoveredSchema>;
/** The bodies of the types other than `test_run_completed`; `event` tells which. */
export type OtherEventPayload =
  | TestRunStartedEvent
  | TestStatusChangedEvent
  | WebhookDisabledEvent
  | WebhookRecoveredEvent;

const runsUrl = (publicUrl: string, runId: string) => `${publicUrl.replace(/\/+$/, '')}/runs/${runId}`;

export function testRunStartedPayload(
  run: {
    id: string;
    testRunId: string;
    name: string;
    agentId: string;
    agentName: string;
    totalScenarios: number | null;
    startedAt: number;
  },
  eventCreatedAt: number,
  publicUrl: string,
): TestRunStartedEvent {
  return {
    event: 'test_run_started',
    timestamp: toIso(eventCreatedAt),
    test_run: {
      id: run.id,
      test_run_id: run.testRunId,
      name: run.name,
      agent_id: run.agentId,
      agent_name: run.agentName,
      status: 'running',
      total_scenarios: run.totalScenarios,
      started_at: toIso(run.startedAt),
    },
    results_url: runsUrl(publicUrl, run.id),
  };
}

export function testStatusChangedPayload(
  test: TestStatusChangedEvent['test'],
  run: { id: string; testRunId: string },
  eventCreatedAt: number,
  publicUrl: string,
): TestStatusChangedEvent {
  return {
    event: 'test_status_changed',
    timestamp: toIso(eventCreatedAt),
    test,
    test_run: { id: run.id, test_run_id: run.testRunId },
    results_url: runsUrl(publicUrl, run.id),
  };
}

/** The host (and port) of a webhook URL: what a health event shows of the endpoint. */
export function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

export function webhookHealthPayload(
  event: 'webhook_disabled' | 'webhook_recovered',
  webhook: { id: string; description: string; agentId: string | null; url: string; format: string },
  reason: string,
  consecutiveFailures: number,
  eventCreatedAt: number,
  publicUrl: string,
): WebhookDisabledEvent | WebhookRecoveredEvent {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    event,
    timestamp: toIso(eventCreatedAt),
    webhook: {
      id: webhook.id,
      description: webhook.description === '' ? null : webhook.description,
      agent_id: webhook.agentId,
      host: urlHost(webhook.url),
      format: webhook.format,
    },
    reason,
    consecutive_failures: consecutiveFailures,
    dashboard_url:
      webhook.agentId === null ? `${base}/settings/webhooks` : `${base}/agents/${webhook.agentId}`,
  } as WebhookDisabledEvent | WebhookRecoveredEvent;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The sample of a type other than `test_run_completed` (Test Webhook, docs/api.md#test-webhook):
 * the real shape with all-zero ids and `is_test: true`. `test_run_group_completed` has none here.
 */
export function otherEventSample(
  type: WebhookEventType,
  now: number,
  publicUrl: string,
): OtherEventPayload | null {
  const sampleRun = { id: ZERO_UUID, testRunId: 'TR-00000' };
  let payload: OtherEventPayload;
  switch (type) {
    case 'test_run_started':
      payload = testRunStartedPayload(
        {
          ...sampleRun,
          name: 'Sample test run',
          agentId: ZERO_UUID,
          agentName: 'Sample agent',
          totalScenarios: 20,
          startedAt: now,
        },
        now,
        publicUrl,
      );
      break;
    case 'test_status_changed':
      payload = testStatusChangedPayload(
        {
          id: '0',
          name: 'escalates chest pain to emergency services',
          suite: 'triage.emergency',
          agent_id: ZERO_UUID,
          agent_name: 'Sample agent',
          state: 'failing',
          previous_state: 'passing',
          last_status: 'failed',
          message: 'expected a referral to emergency services, got a self-care suggestion',
        },
        sampleRun,
        now,
        publicUrl,
      );
      break;
    case 'webhook_disabled':
    case 'webhook_recovered':
      payload = webhookHealthPayload(
        type,
        {
          id: ZERO_UUID,
          description: 'Sample webhook',
          agentId: null,
          url: 'https://hooks.example.com/runhook',
          format: 'standard',
        },
        type === 'webhook_disabled' ? 'failing' : 'probe',
        type === 'webhook_disabled' ? 10 : 0,
        now,
        publicUrl,
      );
      break;
    default:
      return null;
  }
  // `is_test` right after `event`, as in the `test` body.
  const { event, ...rest } = payload;
  return { event, is_test: true, ...rest } as OtherEventPayload;
}
