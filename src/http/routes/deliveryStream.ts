import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { timeOfOrderedId } from '../../domain/ids.js';
import { toIso } from '../../domain/time.js';
import type { DeliveryStatus } from '../../domain/types.js';
import { hashApiKey } from '../../security/apiKeys.js';
import type { AttemptFeedItem } from '../../store/store.js';
import { AttemptStream } from '../attemptStream.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { attemptSchema, deliverySchema, deliveryStreamQuery } from '../schemas.js';

/** Open streams per organization on one API node (docs/api.md#live-tail). */
export const MAX_STREAMS_PER_ORG = 10;
const KEEP_ALIVE_MS = 15_000;
/** A client this far behind is cut off; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1 << 20;

interface StreamQuery {
  webhook_id?: string;
  status?: DeliveryStatus;
}

/**
 * The attempt as the stream's `data:` line shows it: the shape of what presentFeedItem writes, for
 * the generated web/src/apiTypes.ts (the stream's body is text, so no route serializes with it).
 */
export const liveAttemptSchema = {
  type: 'object',
  required: [
    'delivery_id',
    'webhook_id',
    'trigger',
    'status',
    'http_status',
    'response_time_ms',
    'attempt_number',
    'error_class',
    'started_at',
  ],
  properties: {
    delivery_id: { type: 'string' },
    webhook_id: { type: 'string' },
    trigger: { type: 'string', description: "What started the attempt, as an attempt's `trigger`." },
    status: {
      ...deliverySchema.properties.status,
      description: "The delivery's status after this attempt.",
    },
    http_status: attemptSchema.properties.http_status,
    response_time_ms: attemptSchema.properties.response_time_ms,
    attempt_number: attemptSchema.properties.attempt_number,
    error_class: { type: ['string', 'null'] },
    started_at: attemptSchema.properties.started_at,
  },
} as const;

/** The attempt as the stream's `data:` line shows it. */
export function presentFeedItem(item: AttemptFeedItem) {
  return {
    delivery_id: item.deliveryId,
    webhook_id: item.webhookId,
    trigger: item.trigger,
    status: item.status,
    http_status: item.httpStatus,
    response_time_ms: item.responseTimeMs,
    attempt_number: item.attemptNumber,
    error_class: item.errorClass,
    // To the second, as every time of the API (docs/api.md#conventions) and the attempt in GET /deliveries/{id}.
    started_at: toIso(item.startedAt),
  };
}

/**
 * `GET /deliveries/stream`: the organization's attempts as server-sent events, as they are recorded
 * (docs/api.md#live-tail). How recorded attempts reach an open stream: docs/architecture.md#live-tail.
 */
export function registerDeliveryStreamRoute(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const perOrg = new Map<string, number>();
  const open = new Set<() => void>();
  // Open streams would hold the server's close until their clients leave.
  api.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  api.get<{ Querystring: StreamQuery }>(
    '/deliveries/stream',
    {
      schema: {
        tags: ['deliveries'],
        summary: "The organization's attempts, live (server-sent events)",
        description:
          'A `text/event-stream`: an `attempt` event per attempt as it is recorded, a `: keep-alive` ' +
          'comment every 15 s. `Last-Event-ID` resumes within the last 5 minutes. At most 10 open ' +
          'streams per organization on one API node; the next is answered 429 `RATE_LIMITED`. ' +
          'See docs/api.md#live-tail.',
        querystring: deliveryStreamQuery,
        headers: {
          type: 'object',
          properties: {
            'last-event-id': { type: 'string', description: 'The id of the last event received.' },
          },
        },
        response: {
          200: {
            description:
              '`text/event-stream`. Each event: `id: <attempt id>`, `event: attempt`, `data: {"delivery_id", ' +
              '"webhook_id", "trigger", "status", "http_status", "response_time_ms", "attempt_number", ' +
              '"error_class", "started_at"}`.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (req, reply) => {
      const header = req.headers['last-event-id'];
      const lastEventId =
        typeof header === 'string' && header.trim() !== '' ? header.trim().toLowerCase() : undefined;
      if (lastEventId !== undefined && timeOfOrderedId(lastEventId) === null) {
        throw new ApiError('INVALID_FIELD_VALUE', 'Last-Event-ID must be the id of an event of this stream', {
          field: 'Last-Event-ID',
        });
      }
      const orgId = req.orgId;
      const count = perOrg.get(orgId) ?? 0;
      if (count >= MAX_STREAMS_PER_ORG) {
        reply.header('retry-after', '15');
        throw new ApiError('RATE_LIMITED', `at most ${MAX_STREAMS_PER_ORG} open streams per organization`, {
          retry_after_seconds: 15,
          max_streams: MAX_STREAMS_PER_ORG,
        });
      }
      perOrg.set(orgId, count + 1);

      const out = new PassThrough();
      let ended = false;
      const write = (text: string) => {
        if (ended) return;
        out.write(text);
        if (out.writableLength > MAX_BUFFERED_BYTES) end();
      };
      const status = req.query.status;
      const stream = new AttemptStream({
        store,
        orgId,
        ...(req.query.webhook_id !== undefined && { webhookId: req.query.webhook_id }),
        now,
        ...(lastEventId !== undefined && { lastEventId }),
        emit: (item) => {
          if (status !== undefined && item.status !== status) return;
          write(`id: ${item.id}\nevent: attempt\ndata: ${JSON.stringify(presentFeedItem(item))}\n\n`);
        },
        onError: (err) => {
          req.log.error({ err }, 'live tail read failed');
          end();
        },
      });
      const keyHash = hashApiKey(/^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
      const keepAlive = setInterval(() => {
        write(': keep-alive\n\n');
        stream.safetyRead();
        // A key revoked while its stream is open stops working here too.
        store.findApiKey(keyHash, now()).then(
          (key) => {
            if (!key) end();
          },
          () => {},
        );
      }, KEEP_ALIVE_MS);
      keepAlive.unref();
      function end() {
        if (ended) return;
        ended = true;
        open.delete(end);
        clearInterval(keepAlive);
        stream.close();
        const left = (perOrg.get(orgId) ?? 1) - 1;
        if (left > 0) perOrg.set(orgId, left);
        else perOrg.delete(orgId);
        out.end();
      }
      open.add(end);
      // The client went away (either side's close event may come first).
      req.raw.on('close', end);
      reply.raw.on('close', end);
      try {
        await stream.start();
      } catch (err) {
        end();
        throw err;
      }
      // Sent once the replay is written and the stream listens: a client may count on what is
      // recorded from here on. Not when the stream ended meanwhile (its client left, or the server
      // is closing): it is answered empty, and a client reconnects as after any end.
      write('retry: 2000\n: connected\n\n');
      reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache')
        // The connection ends with the stream: one that stayed open for reuse, its stream ended by
        // a closing server, would hold that close until the client let it go.
        .header('connection', 'close')
        .header('x-accel-buffering', 'no');
      return reply.send(out);
    },
  );
}
