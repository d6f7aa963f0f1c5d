/**
 * What Runhook sends to receivers (docs/payloads.md), as JSON Schema 2020-12: the bodies of each
 * payload format and the headers of every delivery. The `standard` and `clix` bodies are defined
 * once in src/domain/payloadSchemas.ts (with their TypeScript types) and re-exported here. The
 * OpenAPI document's `webhooks` section (src/http/openapi.ts) and docs/payloads.md are generated
 * from these objects; tests check real bodies from src/domain/payloads.ts against them. Examples
 * are produced by those same functions, so they cannot drift from what is sent.
 */
import { DISCORD_COLORS, DISCORD_LIMITS } from '../domain/chatMessages.js';
import {
  clixPayloadSchema,
  isoSecond,
  payloadTestRunSchema,
  standardPayloadSchema,
  testPayloadSchema,
} from '../domain/payloadSchemas.js';
import {
  renderBody,
  SAMPLE_FAILURES,
  sampleGroupCompleted,
  standardPayload,
  testPayload,
} from '../domain/payloads.js';
import { buildDeliveryHeaders } from '../domain/signing.js';
import { isWebhookEventType, type TestRun } from '../domain/types.js';

export { clixPayloadSchema, payloadTestRunSchema, standardPayloadSchema, testPayloadSchema };

import { USER_AGENT } from '../version.js';
import { OTHER_EVENT_KINDS, otherEventExample, type SampledEventType } from './eventPayloadKinds.js';

const slackText = (type: 'mrkdwn' | 'plain_text', description: string) => ({
  type: 'object',
  additionalProperties: false,
  required: ['type', 'text'],
  properties: { type: { const: type }, text: { type: 'string' } },
  description,
});

/** Format `slack`: a Slack incoming-webhook message. */
export const slackPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['text', 'blocks'],
  properties: {
    text: {
      type: 'string',
      description:
        'One line: outcome emoji, run name, outcome, agent, passed/total, pass rate. Slack shows it in notifications.',
    },
    blocks: {
      type: 'array',
      description: 'A section with the same facts, then a “View results” button linking to the run.',
      prefixItems: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'text'],
          properties: {
            type: { const: 'section' },
            text: slackText('mrkdwn', 'Run, agent, passed/total, failed, errors and duration.'),
          },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'elements'],
          properties: {
            type: { const: 'actions' },
            elements: {
              type: 'array',
              minItems: 1,
              maxItems: 1,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['type', 'text', 'url'],
                properties: {
                  type: { const: 'button' },
                  text: slackText('plain_text', 'The button label.'),
                  url: { type: 'string', format: 'uri', description: 'The run’s `results_url`.' },
                },
              },
            },
          },
        },
      ],
      minItems: 2,
      items: false,
    },
  },
} as const;

const discordText = (max: number, description: string) => ({ type: 'string', maxLength: max, description });

/** Format `discord`: a Discord webhook message with one embed, inside Discord's limits. */
export const discordPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['content', 'embeds', 'allowed_mentions'],
  properties: {
    content: discordText(
      DISCORD_LIMITS.content,
      'One line: outcome emoji, run name, outcome, agent, passed/total, pass rate (at most 2,000 characters).',
    ),
    embeds: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      description: 'One embed with the facts and the failing tests.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['title', 'url', 'description', 'color', 'fields', 'timestamp', 'footer'],
        properties: {
          title: discordText(
            DISCORD_LIMITS.title,
            'Outcome emoji, run name and outcome (at most 256 characters).',
          ),
          url: {
            type: 'string',
            format: 'uri',
            description: 'The run’s `results_url`: the title links to it.',
          },
          description: discordText(
            DISCORD_LIMITS.description,
            'The first 10 failing tests (name — message) and how many more; at most 4,096 characters.',
          ),
          color: {
            type: 'integer',
            enum: [...new Set(Object.values(DISCORD_COLORS))],
            description:
              'Green (5763719) when the run passed, red (15548997) when it failed or had errors, grey (9807270) when canceled.',
          },
          fields: {
            type: 'array',
            maxItems: DISCORD_LIMITS.fields,
            description: 'Run, Agent, Status, Passed, Failed, Errors, Duration (at most 10 fields).',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'value', 'inline'],
              properties: {
                name: discordText(DISCORD_LIMITS.fieldName, 'The fact.'),
                value: discordText(DISCORD_LIMITS.fieldValue, 'Its value.'),
                inline: { const: true, description: 'Shown side by side.' },
              },
            },
          },
          timestamp: { ...isoSecond, description: 'When the run ended.' },
          footer: {
            type: 'object',
            additionalProperties: false,
            required: ['text'],
            properties: { text: { const: 'Runhook', description: 'Who sent it.' } },
          },
        },
      },
    },
    allowed_mentions: {
      type: 'object',
      additionalProperties: false,
      required: ['parse'],
      properties: {
        parse: {
          type: 'array',
          maxItems: 0,
          description: 'Empty: an `@everyone` in a run name pings nobody.',
        },
      },
    },
  },
} as const;

/**
 * Format `teams`: a Microsoft Teams workflow ("Post to a channel when a webhook request is
 * received") message. The card itself is checked against the published Adaptive Card schema in
 * the tests; here only the envelope and what Runhook puts in it are described.
 */
export const teamsPayloadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'attachments'],
  properties: {
    type: { const: 'message', description: 'Always `message`.' },
    attachments: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      description: 'One Adaptive Card.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['contentType', 'content'],
        properties: {
          contentType: { const: 'application/vnd.microsoft.card.adaptive', description: 'An Adaptive Card.' },
          content: {
            type: 'object',
            required: ['type', 'version', 'body', 'actions'],
            description:
              'An Adaptive Card 1.4: what changed since the baseline run (when there is one), a heading coloured by outcome, a FactSet (run, agent, status, passed, failed, errors, duration, completed), the first 10 failing tests, and an `Action.OpenUrl` “View results” to `results_url`.',
            properties: {
              $schema: {
                const: 'http://adaptivecards.io/schemas/adaptive-card.json',
                description: 'The card schema.',
              },
              type: { const: 'AdaptiveCard', description: 'Always `AdaptiveCard`.' },
              version: { const: '1.4', description: 'Adaptive Card 1.4, which Teams renders.' },
              fallbackText: {
                type: 'string',
                description:
                  'What changed (when there is a baseline), heading and link, for clients that cannot show the card.',
              },
              body: {
                type: 'array',
                description:
                  'TextBlocks of the change and the heading, a FactSet, and TextBlocks of failing tests (new failures first, flaky ones marked).',
              },
              actions: {
                type: 'array',
                minItems: 1,
                maxItems: 1,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['type', 'title', 'url'],
                  properties: {
                    type: { const: 'Action.OpenUrl', description: 'Opens the run.' },
                    title: { const: 'View results', description: 'The button label.' },
                    url: { type: 'string', format: 'uri', description: 'The run’s `results_url`.' },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

export type PayloadFormat = 'standard' | 'clix' | 'slack' | 'discord' | 'teams';

/** A header Runhook sets on deliveries (docs/payloads.md#headers). */
export interface DeliveryHeader {
  name: string;
  /** Sent on every delivery of the formats listed, whatever the webhook's settings. */
  always: boolean;
  /** Formats whose deliveries may carry it. */
  formats: readonly PayloadFormat[];
  /** When it is sent, if not "with a secret" (the default wording for headers not always sent). */
  when?: string;
  description: string;
}

const ALL_FORMATS: readonly PayloadFormat[] = ['standard', 'clix', 'slack', 'discord', 'teams'];

export const DELIVERY_HEADERS: readonly DeliveryHeader[] = [
  {
    name: 'Content-Type',
    always: true,
    formats: ALL_FORMATS,
    description: '`application/json`.',
  },
  {
    name: 'User-Agent',
    always: true,
    formats: ALL_FORMATS,
    description: '`Runhook/<version>`.',
  },
  {
    name: 'webhook-id',
    always: true,
    formats: ALL_FORMATS,
    description:
      'Standard Webhooks: the event id. The same on every retry and redelivery of the event: deduplicate on it.',
  },
  {
    name: 'webhook-timestamp',
    always: true,
    formats: ALL_FORMATS,
    description:
      'Standard Webhooks: Unix seconds when this attempt was sent. Refuse values far from your clock.',
  },
  {
    name: 'webhook-signature',
    always: false,
    formats: ALL_FORMATS,
    when: 'with a secret, or `ed25519`',
    description:
      'When the webhook has a secret: `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`. ' +
      'During a secret rotation, one `v1,…` entry per active secret, separated by spaces; one match is enough. ' +
      'A webhook with `signature_scheme` `ed25519` adds, first, `v1a,<base64 ed25519 signature of the same "<webhook-id>.<webhook-timestamp>.<body>">`, ' +
      "made with a key pair Runhook keeps (verify it with the webhook's `public_key`); two `v1a,…` entries during a key rotation.",
  },
  {
    name: 'X-Runhook-Signature',
    always: false,
    formats: ALL_FORMATS,
    description:
      'When the webhook has a secret: `sha256=<hex HMAC-SHA256(key, body)>`. Signs the body only (no timestamp).',
  },
  {
    name: 'X-Clix-Signature',
    always: false,
    formats: ['clix'],
    description: 'Format `clix` with a secret: `<hex HMAC-SHA1(key, body)>`, as TestCLIX sends it.',
  },
];

/** The key of a signature: a `whsec_<base64>` secret's decoded bytes, any other secret's UTF-8 bytes. */
export const SIGNING_KEY_RULE =
  'The signing key is the decoded bytes of a `whsec_<base64>` secret, or the UTF-8 bytes of any other secret.';

/** One kind of body Runhook sends: its name in the OpenAPI `webhooks` section, and its schema. */
export interface PayloadKind {
  /** Key in the OpenAPI `webhooks` section. */
  key: string;
  /**
   * What `exampleDelivery` renders; `test` is the Test Webhook body, `group` the sample run group's
   * event (both format `standard`).
   */
  example: PayloadFormat | 'test' | 'group' | SampledEventType;
  format: PayloadFormat;
  /** Name under `components.schemas`. */
  schemaName: string;
  schema: object;
  title: string;
  description: string;
}

const RUN_PAYLOAD_KINDS: readonly PayloadKind[] = [
  {
    key: 'test_run_completed',
    example: 'standard',
    format: 'standard',
    schemaName: 'TestRunCompletedPayload',
    schema: standardPayloadSchema,
    title: 'A test run finished (format `standard`)',
    description:
      'Sent once per finished run (`completed`, `failed` or `canceled`) to the agent’s webhook, or to the ' +
      'organization’s when the agent has none enabled. The body is this object with its keys in this order, ' +
      'byte-identical on every retry. Deduplicate on `webhook-id` or `test_run.id`.',
  },
  {
    key: 'test',
    example: 'test',
    format: 'standard',
    schemaName: 'TestPayload',
    schema: testPayloadSchema,
    title: 'Test Webhook (format `standard`)',
    description:
      'Sent by `POST /api/v1/webhooks/{id}/test` and the dashboard’s Test Webhook button: the standard shape ' +
      'with `"event": "test"`, `"is_test": true` and a sample run whose ids are all zeros. Signed the same way; ' +
      'never retried. Webhooks in `clix` or `slack` format get the sample run in their own format.',
  },
  {
    key: 'test_run_completed_clix',
    example: 'clix',
    format: 'clix',
    schemaName: 'ClixPayload',
    schema: clixPayloadSchema,
    title: 'A test run finished (format `clix`, TestCLIX-compatible)',
    description:
      'The same event for a webhook whose `format` is `clix`. With a secret it also carries `X-Clix-Signature`.',
  },
  {
    key: 'test_run_completed_slack',
    example: 'slack',
    format: 'slack',
    schemaName: 'SlackMessage',
    schema: slackPayloadSchema,
    title: 'A test run finished (format `slack`)',
    description:
      'The same event for a webhook whose `format` is `slack`: a message for a Slack incoming-webhook URL. ' +
      'Lists the first 5 failing tests and counts the rest. Run, agent and test names and failure messages are ' +
      'tenant text: `&`, `<` and `>` are escaped (`&amp;`, `&lt;`, `&gt;`), so they cannot mention `@channel` ' +
      'or carry a `<url|label>` link.',
  },
  {
    key: 'test_run_completed_discord',
    example: 'discord',
    format: 'discord',
    schemaName: 'DiscordMessage',
    schema: discordPayloadSchema,
    title: 'A test run finished (format `discord`)',
    description:
      'The same event for a webhook whose `format` is `discord`: point it at a Discord channel webhook URL ' +
      '(`https://discord.com/api/webhooks/…`). Every text stays inside Discord’s limits (content 2,000, title 256, ' +
      'description 4,096, 10 fields, 6,000 for the whole embed); longer names and messages are cut with `…`. ' +
      'Run, agent and test names and failure messages show literally: Discord markdown characters are escaped ' +
      'with a backslash, so a name cannot be a masked link or bold, and `allowed_mentions` is empty so ' +
      '`@everyone` pings no one.',
  },
  {
    key: 'test_run_completed_teams',
    example: 'teams',
    format: 'teams',
    schemaName: 'TeamsMessage',
    schema: teamsPayloadSchema,
    title: 'A test run finished (format `teams`)',
    description:
      'The same event for a webhook whose `format` is `teams`: point it at the URL of a Teams workflow built ' +
      'from “Post to a channel when a webhook request is received”. The card validates against the published ' +
      'Adaptive Card 1.4 JSON schema. Run, agent and test names and failure messages show literally in the ' +
      'text blocks and facts: Adaptive Card markdown characters (and a leading list marker) are escaped with a ' +
      'backslash, so `[Re-authenticate CI](https://…)` as a run name arrives as text, not a link. ' +
      '`fallbackText` is plain text.',
  },
];

/** Every body Runhook sends, as documented: a finished run's in each format, then the other event types'. */
export const PAYLOAD_KINDS: readonly PayloadKind[] = [...RUN_PAYLOAD_KINDS, ...OTHER_EVENT_KINDS];

/** How Runhook reads the receiver's answer (docs/delivery.md#success-and-failure), by status (OpenAPI response keys). */
export const RECEIVER_ANSWERS: ReadonlyArray<{ status: string; meaning: string }> = [
  { status: '2XX', meaning: 'Delivered: any 2xx within the attempt timeout (default 15 s).' },
  {
    status: '410',
    meaning: 'Gone: Runhook disables the webhook at once and ends the delivery `failed`.',
  },
  {
    status: 'default',
    meaning:
      'Anything else — another status, a redirect (never followed), a timeout, no answer — is retried after ' +
      '1 min, 5 min and 30 min by default (±10 % jitter), then the delivery ends `failed`. `Retry-After` on ' +
      '429 and 503 lengthens the next wait (up to 1 h), never shortens it.',
  },
];

/** The example run of docs/payloads.md, used for every example. */
const SAMPLE_RUN: TestRun = {
  id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  orgId: '00000000-0000-0000-0000-000000000001',
  seq: 42,
  name: 'Emergency Response Test',
  agentId: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
  agentName: 'Healthcare Assistant',
  status: 'completed',
  passedCount: 17,
  failedCount: 3,
  errorCount: 0,
  totalScenarios: 20,
  startedAt: Date.UTC(2026, 0, 30, 10, 30, 0),
  completedAt: Date.UTC(2026, 0, 30, 10, 32, 45),
  createdAt: Date.UTC(2026, 0, 30, 10, 30, 0),
  failures: [...SAMPLE_FAILURES],
  testSuiteId: null,
  testMode: null,
  maxScenarios: null,
  maxTurns: null,
};
const SAMPLE_PUBLIC_URL = 'https://runhook.example.com';

/** The secret of the examples (the README's): anyone can recompute their signatures. */
export const EXAMPLE_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const EXAMPLE_EVENT_ID = '2f1c3e4a-9b7d-4c1e-8f00-5a6b7c8d9e0f';

/**
 * One delivery of the sample run in the given format, exactly as Runhook renders and signs it
 * (with EXAMPLE_SECRET, sent 10 s after the event): `format: "test"` is the Test Webhook body.
 */
export function exampleDelivery(format: PayloadFormat | 'test' | 'group' | SampledEventType): {
  headers: Record<string, string>;
  body: string;
} {
  const eventAt = SAMPLE_RUN.completedAt!;
  const standard = standardPayload(SAMPLE_RUN, eventAt, SAMPLE_PUBLIC_URL);
  const other = isWebhookEventType(format)
    ? otherEventExample(format, eventAt, { runId: SAMPLE_RUN.id, publicUrl: SAMPLE_PUBLIC_URL })
    : null;
  const body =
    other !== null
      ? JSON.stringify(other)
      : format === 'test'
        ? JSON.stringify(testPayload(eventAt, SAMPLE_PUBLIC_URL))
        : format === 'group'
          ? JSON.stringify(sampleGroupCompleted(eventAt, SAMPLE_PUBLIC_URL))
          : renderBody(format as PayloadFormat, standard, eventAt);
  const headers = buildDeliveryHeaders({
    format:
      other !== null || format === 'test' || format === 'group' ? 'standard' : (format as PayloadFormat),
    eventId: EXAMPLE_EVENT_ID,
    timestampSec: Math.floor(eventAt / 1000) + 10,
    body,
    secret: EXAMPLE_SECRET,
    customHeaders: {},
    userAgent: USER_AGENT,
  });
  return { headers, body };
}
