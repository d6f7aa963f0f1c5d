import { lookup } from 'node:dns/promises';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { otherEventSample } from '../../domain/eventPayloads.js';
import { ALLOWED_CIDRS_HINT, forbiddenAddressReason, isAddressAllowed } from '../../domain/ipRules.js';
import {
  groupTestSample,
  renderEvent,
  renderGroupEvent,
  renderOtherEvent,
  testPayload,
} from '../../domain/payloads.js';
import {
  DEFAULT_WEBHOOK_EVENTS,
  type SignatureScheme,
  type Webhook,
  type WebhookEventType,
  type WebhookFormat,
  type WebhookOrdering,
} from '../../domain/types.js';
import { checkEvents, checkHeaders, checkSecret, checkWebhookUrl } from '../../domain/validateWebhook.js';
import { type FilterJson, filterFromJson } from '../../domain/webhookFilter.js';
import { generateSigningKey } from '../../security/signingKeys.js';
import type { WebhookPatch } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError, invalidField } from '../errors.js';
import { idempotentAnswer } from '../idempotency.js';
import { takeManualSend } from '../manualSendLimit.js';
import { isUuid, pageOf } from '../params.js';
import { presentWebhook } from '../present.js';
import {
  createWebhookBody,
  emptyBody,
  idempotencyHeaders,
  idParams,
  listResponse,
  testResultSchema,
  testWebhookBody,
  updateWebhookBody,
  webhookListQuery,
  webhookSchema,
} from '../schemas.js';

interface WebhookBody {
  url?: string;
  secret?: string | null;
  description?: string | null;
  agent_id?: string | null;
  is_enabled?: boolean;
  format?: WebhookFormat;
  headers?: Record<string, string>;
  filter?: FilterJson | null;
  signature_scheme?: SignatureScheme;
  ordering?: WebhookOrdering;
  events?: WebhookEventType[];
}

const webhookNotFound = () => new ApiError('NOT_FOUND', 'webhook not found');
const DNS_TIMEOUT_MS = 3_000;

async function systemResolve(hostname: string): Promise<string[]> {
  const answer = lookup(hostname, { all: true, verbatim: true }).then((list) => list.map((a) => a.address));
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), DNS_TIMEOUT_MS).unref());
  return Promise.race([answer, timeout]).catch(() => []);
}

export function registerWebhookRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, config, secretBox } = deps;
  const now = deps.now ?? Date.now;
  const resolveHost = deps.resolveHost ?? systemResolve;
  const degradedAfter = config.health.degradedAfter;
  const tags = ['webhooks'];

  /** The SSRF rules at save time (docs/delivery.md#ssrf-rules): literal addresses and names that resolve to refused addresses are rejected. */
  async function checkUrl(url: string, log: FastifyBaseLogger): Promise<void> {
    const checked = checkWebhookUrl(url, config.allowedCidrs);
    if (!checked.ok) throw invalidField(checked.problem.field, checked.problem.message);
    if (checked.literalAddress !== null) return;
    // A name that does not resolve yet is accepted: it is checked again at every send.
    for (const address of await resolveHost(checked.hostname)) {
      if (!isAddressAllowed(address, config.allowedCidrs)) {
        // What the name resolves to is the server's internal DNS: the operator's log has it, the
        // tenant's answer does not (docs/delivery.md#ssrf-rules).
        const reason = forbiddenAddressReason(address) ?? 'not a public address';
        log.warn(
          { host: checked.hostname, address, reason },
          'webhook url refused: its host resolves to a refused address',
        );
        throw invalidField(
          'url',
          `url host ${checked.hostname} is not a public address; webhooks must point to public addresses; ${ALLOWED_CIDRS_HINT}`,
        );
      }
    }
  }

  /** The event types against the format they would be sent in: both as saved after this request. */
  function checkSubscription(events: readonly string[], format: WebhookFormat): void {
    const problem = checkEvents(events, format);
    if (problem) throw invalidField(problem.field, problem.message);
  }

  function checkFields(b: WebhookBody): void {
    if (b.headers !== undefined) {
      const problem = checkHeaders(b.headers);
      if (problem) throw invalidField(problem.field, problem.message);
    }
    if (typeof b.secret === 'string') {
      const problem = checkSecret(b.secret);
      if (problem) throw invalidField(problem.field, problem.message);
    }
  }

  api.post<{ Body: WebhookBody }>(
    '/webhooks',
    {
      config: { idempotent: true },
      schema: {
        headers: idempotencyHeaders,
        tags,
        summary: 'Create an org-level webhook, or one of an agent’s own (agent_id); a scope may have several',
        body: createWebhookBody,
        response: { 201: webhookSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      checkFields(b);
      checkSubscription(b.events ?? DEFAULT_WEBHOOK_EVENTS, b.format ?? 'standard');
      await checkUrl(b.url!, req.log);
      const agentId = b.agent_id ?? null;
      if (agentId !== null && !(await store.getAgent(req.orgId, agentId))) {
        throw new ApiError('AGENT_NOT_FOUND', 'agent not found', { field: 'agent_id' });
      }
      const webhook = await store.createWebhook(
        req.orgId,
        {
          agentId,
          url: b.url!,
          description: b.description ?? '',
          isEnabled: b.is_enabled ?? true,
          format: b.format ?? 'standard',
          headers: b.headers ?? {},
          secretEnc: typeof b.secret === 'string' ? secretBox.seal(b.secret) : null,
          filter: filterFromJson(b.filter ?? null),
          signatureScheme: b.signature_scheme ?? 'hmac-sha256',
          signingKey: b.signature_scheme === 'ed25519' ? generateSigningKey(secretBox) : null,
          events: b.events ?? DEFAULT_WEBHOOK_EVENTS,
          ordering: b.ordering ?? 'parallel',
        },
        now(),
        idempotentAnswer(req, 201, (w: Webhook) => presentWebhook(w, degradedAfter)),
      );
      return reply.code(201).send(presentWebhook(webhook, degradedAfter, now()));
    },
  );

  api.get<{ Querystring: { limit?: number; offset?: number; agent_id?: string } }>(
    '/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhooks (filter by agent_id)',
        querystring: webhookListQuery,
        response: { 200: listResponse('webhooks', webhookSchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      const { items, total } = await store.listWebhooks(req.orgId, { agentId: req.query.agent_id }, page);
      return { webhooks: items.map((w) => presentWebhook(w, degradedAfter, now())), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/webhooks/:id',
    { schema: { tags, summary: 'Get a webhook', params: idParams, response: { 200: webhookSchema } } },
    async (req) => {
      const webhook = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
      if (!webhook) throw webhookNotFound();
      return presentWebhook(webhook, degradedAfter, now());
    },
  );

  const update = async (req: {
    orgId: string;
    params: { id: string };
    body: WebhookBody;
    log: FastifyBaseLogger;
  }) => {
    const b = req.body;
    checkFields(b);
    const current = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
    if (!current) throw webhookNotFound();
    if (b.agent_id !== undefined && b.agent_id !== current.agentId) {
      throw invalidField(
        'agent_id',
        'agent_id cannot be changed; delete this webhook and create one for the other scope',
      );
    }
    if (b.events !== undefined || b.format !== undefined) {
      checkSubscription(b.events ?? current.events, b.format ?? current.format);
    }
    if (b.url !== undefined) await checkUrl(b.url, req.log);
    const patch: WebhookPatch = {
      events: b.events,
      url: b.url,
      description: b.description === null ? '' : b.description,
      isEnabled: b.is_enabled,
      format: b.format,
      headers: b.headers,
      filter: b.filter === undefined ? undefined : filterFromJson(b.filter),
      secretEnc: b.secret === undefined ? undefined : b.secret === null ? null : secretBox.seal(b.secret),
      ...schemeChange(current, b.signature_scheme),
      ordering: b.ordering,
    };
    const webhook = await store.updateWebhook(req.orgId, req.params.id, patch, now());
    if (!webhook) throw webhookNotFound();
    return presentWebhook(webhook, degradedAfter, now());
  };
  /**
   * The Test Webhook body of an event type in a format: the `test` body for `test_run_completed`,
   * that type's sample otherwise. A type the format cannot carry, or without a sample, is a 400.
   */
  function testSample(type: WebhookEventType, format: WebhookFormat, t: number) {
    if (type === 'test_run_completed') {
      const rendered = renderEvent(testPayload(t, config.publicUrl), t);
      return { payload: rendered.payload, body: rendered.body(format) };
    }
    if (type === 'test_run_group_completed') {
      if (format === 'clix') throw invalidField('event_type', `format ${format} cannot carry ${type}`);
      const rendered = renderGroupEvent(groupTestSample(t, config.publicUrl));
      return { payload: rendered.payload, body: rendered.body(format) };
    }
    const payload = otherEventSample(type, t, config.publicUrl);
    if (payload === null) throw invalidField('event_type', `there is no Test Webhook sample of ${type} yet`);
    const rendered = renderOtherEvent(payload);
    const body = rendered.body(format);
    if (body === null) throw invalidField('event_type', `format ${format} cannot carry ${type}`);
    return { payload: rendered.payload, body };
  }

  /** Switching to ed25519 makes a key pair; switching back drops it; the same scheme changes nothing. */
  function schemeChange(current: Webhook, scheme: SignatureScheme | undefined): WebhookPatch {
    if (scheme === undefined || scheme === current.signatureScheme) return {};
    return {
      signatureScheme: scheme,
      signingKey: scheme === 'ed25519' ? generateSigningKey(secretBox) : null,
    };
  }

  api.post<{ Params: { id: string } }>(
    '/webhooks/:id/rotate-key',
    {
      schema: {
        tags,
        summary:
          'Replace an ed25519 webhook’s key pair; the old one keeps signing (a second `v1a` entry) for 24 hours',
        params: idParams,
        body: emptyBody,
        response: { 200: webhookSchema },
      },
    },
    async (req) => {
      const current = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
      if (!current) throw webhookNotFound();
      if (current.signatureScheme !== 'ed25519') {
        throw new ApiError(
          'INVALID_STATE',
          'only an ed25519 webhook has a key pair to rotate; set signature_scheme to ed25519 first, or replace the secret to rotate it',
        );
      }
      // The scheme is written too, so a concurrent switch to hmac-sha256 cannot leave a key on an hmac webhook.
      const patch: WebhookPatch = { signatureScheme: 'ed25519', signingKey: generateSigningKey(secretBox) };
      const webhook = await store.updateWebhook(req.orgId, req.params.id, patch, now());
      if (!webhook) throw webhookNotFound();
      return presentWebhook(webhook, degradedAfter, now());
    },
  );

  const updateSchema = {
    tags,
    summary: 'Update a webhook (partial; `secret: null` clears the secret)',
    params: idParams,
    body: updateWebhookBody,
    response: { 200: webhookSchema },
  };
  api.put<{ Params: { id: string }; Body: WebhookBody }>('/webhooks/:id', { schema: updateSchema }, update);
  api.patch<{ Params: { id: string }; Body: WebhookBody }>('/webhooks/:id', { schema: updateSchema }, update);

  api.delete<{ Params: { id: string } }>(
    '/webhooks/:id',
    { schema: { tags, summary: 'Delete a webhook; its pending deliveries end failed', params: idParams } },
    async (req, reply) => {
      const deleted = isUuid(req.params.id) && (await store.deleteWebhook(req.orgId, req.params.id, now()));
      if (!deleted) throw webhookNotFound();
      return reply.code(204).send();
    },
  );

  api.post<{ Params: { id: string }; Body: { event_type?: WebhookEventType } | undefined }>(
    '/webhooks/:id/test',
    {
      schema: {
        tags,
        summary:
          'Send a signed sample delivery now (of an event type, optionally) and report what the receiver answered',
        params: idParams,
        body: testWebhookBody,
        response: { 200: testResultSchema },
      },
    },
    async (req, reply) => {
      const webhook = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
      if (!webhook) throw webhookNotFound();
      const t = now();
      const sample = testSample(req.body?.event_type ?? 'test_run_completed', webhook.format, t);
      takeManualSend(api, reply, webhook.id, t);
      const claimed = await store.createTestDelivery(
        req.orgId,
        webhook.id,
        sample.payload,
        sample.body,
        t,
        config.attemptTimeoutMs + 10_000,
      );
      // The send pipeline decides what the answer means; the route reads its outcome.
      const result = await deps.send.attempt(claimed);
      await store.recordResults([result]);
      const attempt = result.attempt;
      if (!attempt) throw new Error('a Test Webhook delivery always has a target to send to');
      const success = result.outcome.kind === 'delivered';
      // Preclinical's documented wording, so clients that match on it keep working (docs/api.md#test-webhook).
      const message = success
        ? 'Test webhook delivered successfully'
        : attempt.httpStatus !== null
          ? `Webhook returned HTTP ${attempt.httpStatus}`
          : `Webhook could not be reached: ${attempt.errorClass}`;
      return {
        success,
        message,
        http_status: attempt.httpStatus,
        response_time_ms: attempt.responseTimeMs,
        delivery_id: claimed.deliveryId,
      };
    },
  );
}
