import type { FastifyInstance } from 'fastify';
import { parseRunId } from '../../domain/runMath.js';
import type { DeliveryKind, DeliveryStatus } from '../../domain/types.js';
import { InvalidStateError } from '../../store/store.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { takeManualSend } from '../manualSendLimit.js';
import { isUuid, pageOf } from '../params.js';
import { presentAttempt, presentDelivery, presentEvent } from '../present.js';
import {
  deliveryDetailSchema,
  deliveryListQuery,
  deliverySchema,
  emptyBody,
  idParams,
  listResponse,
  webhookDeliveryListQuery,
} from '../schemas.js';

interface ListQuery {
  limit?: number;
  offset?: number;
  status?: DeliveryStatus;
  kind?: DeliveryKind;
  webhook_id?: string;
  test_run_id?: string;
  event_id?: string;
}

const deliveryNotFound = () => new ApiError('NOT_FOUND', 'delivery not found');

export function registerDeliveryRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const tags = ['deliveries'];

  api.get<{ Params: { id: string }; Querystring: ListQuery }>(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: "A webhook's delivery history, newest first",
        params: idParams,
        querystring: webhookDeliveryListQuery,
        response: { 200: listResponse('deliveries', deliverySchema) },
      },
    },
    async (req) => {
      const webhook = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
      if (!webhook) throw new ApiError('NOT_FOUND', 'webhook not found');
      const page = pageOf(req.query);
      const { items, total } = await store.listDeliveries(
        req.orgId,
        { webhookId: webhook.id, status: req.query.status, kind: req.query.kind },
        page,
      );
      return { deliveries: items.map(presentDelivery), total, ...page };
    },
  );

  api.get<{ Querystring: ListQuery }>(
    '/deliveries',
    {
      schema: {
        tags,
        summary: "The organization's delivery history, newest first",
        querystring: deliveryListQuery,
        response: { 200: listResponse('deliveries', deliverySchema) },
      },
    },
    async (req) => {
      const page = pageOf(req.query);
      // A TR- id names the run by its number; one that does not exist matches nothing.
      let testRunId = req.query.test_run_id;
      if (testRunId !== undefined && !isUuid(testRunId)) {
        const seq = parseRunId(testRunId);
        const run = seq === null ? null : await store.getRunBySeq(req.orgId, seq);
        if (!run) return { deliveries: [], total: 0, ...page };
        testRunId = run.id;
      }
      const { items, total } = await store.listDeliveries(
        req.orgId,
        {
          webhookId: req.query.webhook_id,
          status: req.query.status,
          kind: req.query.kind,
          testRunId: testRunId?.toLowerCase(),
          eventId: req.query.event_id?.toLowerCase(),
        },
        page,
      );
      return { deliveries: items.map(presentDelivery), total, ...page };
    },
  );

  api.get<{ Params: { id: string } }>(
    '/deliveries/:id',
    {
      schema: {
        tags,
        summary: 'A delivery with its attempts (oldest first) and its event',
        params: idParams,
        response: { 200: deliveryDetailSchema },
      },
    },
    async (req) => {
      const detail = isUuid(req.params.id) ? await store.getDelivery(req.orgId, req.params.id) : null;
      if (!detail) throw deliveryNotFound();
      const event = presentEvent(detail.event);
      return {
        ...presentDelivery(detail.delivery),
        attempts: detail.attempts.map(presentAttempt),
        event,
        payload: event.payload,
      };
    },
  );

  api.post<{ Params: { id: string } }>(
    '/deliveries/:id/redeliver',
    {
      schema: {
        tags,
        summary: 'Queue a new attempt now (trigger manual, same webhook-id)',
        params: idParams,
        body: emptyBody,
        response: { 202: deliverySchema },
      },
    },
    async (req, reply) => {
      const found = isUuid(req.params.id) ? await store.getDelivery(req.orgId, req.params.id) : null;
      if (!found) throw deliveryNotFound();
      const t = now();
      const giveBack = takeManualSend(api, reply, found.delivery.webhookId, t);
      try {
        const delivery = await store.redeliver(req.orgId, req.params.id, t);
        if (!delivery) throw deliveryNotFound();
        return reply.code(202).send(presentDelivery(delivery));
      } catch (err) {
        giveBack();
        if (err instanceof InvalidStateError) throw new ApiError('INVALID_STATE', err.message);
        throw err;
      }
    },
  );
}
