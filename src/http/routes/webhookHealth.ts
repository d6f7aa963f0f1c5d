/**
 * A webhook's health numbers and the recovery of what it missed (docs/receiving-webhooks.md,
 * "When your endpoint fails"): GET /webhooks/{id}/stats and POST /webhooks/{id}/recover.
 */
import type { FastifyInstance } from 'fastify';
import { parseRecoverRange } from '../../domain/recoverRange.js';
import { type StatsWindow, statsWindow, successRate } from '../../domain/stats.js';
import { toIso } from '../../domain/time.js';
import type { AppDeps } from '../deps.js';
import { ApiError, invalidField } from '../errors.js';
import { takeManualSend } from '../manualSendLimit.js';
import { isUuid } from '../params.js';
import { idParams, recoverBody, recoverResultSchema, statsQuery, statsSchema } from '../schemas.js';

const webhookNotFound = () => new ApiError('NOT_FOUND', 'webhook not found');
const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

export function registerWebhookHealthRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const tags = ['webhooks'];

  api.get<{ Params: { id: string }; Querystring: { window: StatsWindow } }>(
    '/webhooks/:id/stats',
    {
      schema: {
        tags,
        summary: "A webhook's delivery numbers over the last 24 hours or 7 days (event deliveries only)",
        params: idParams,
        querystring: statsQuery,
        response: { 200: statsSchema },
      },
    },
    async (req) => {
      const webhook = isUuid(req.params.id) ? await store.getWebhook(req.orgId, req.params.id) : null;
      if (!webhook) throw webhookNotFound();
      const window = req.query.window;
      const s = await store.webhookStats(req.orgId, webhook.id, statsWindow(window, now()));
      return {
        window,
        deliveries: s.deliveries,
        succeeded: s.succeeded,
        failed: s.failed,
        pending: s.pending,
        success_rate: successRate(s.succeeded, s.failed),
        p50_ms: s.p50Ms,
        p95_ms: s.p95Ms,
        last_success_at: iso(s.lastSuccessAt),
        last_failure_at: iso(s.lastFailureAt),
        buckets: s.buckets.map((b) => ({
          start: toIso(b.start),
          succeeded: b.succeeded,
          failed: b.failed,
          p95_ms: b.p95Ms,
        })),
      };
    },
  );

  api.post<{ Params: { id: string }; Body: { since: string; until?: string; dry_run?: boolean } }>(
    '/webhooks/:id/recover',
    {
      schema: {
        tags,
        summary: 'Resend every failed event delivery created in [since, until), with the same webhook-id',
        params: idParams,
        body: recoverBody,
        response: { 202: recoverResultSchema },
      },
    },
    async (req, reply) => {
      const t = now();
      const range = parseRecoverRange(req.body.since, req.body.until, t);
      if (!range.ok) throw invalidField(range.field, range.message);
      if (!isUuid(req.params.id)) throw webhookNotFound();
      // Ownership first: another organization's webhook is a 404 whatever its send budget (a 429
      // would tell that it exists and was busy).
      if (!(await store.getWebhook(req.orgId, req.params.id))) throw webhookNotFound();
      const dryRun = req.body.dry_run === true;
      // A dry run sends nothing: it is not a manual send. Nor is a refused recover, or one with
      // nothing to resend: those give their send back.
      const giveBack = dryRun ? () => {} : takeManualSend(api, reply, req.params.id, t);
      const result = await store.recoverDeliveries(req.orgId, req.params.id, range, dryRun, t);
      if (result.kind !== 'done' || result.count === 0) giveBack();
      switch (result.kind) {
        case 'not_found':
          throw webhookNotFound();
        case 'disabled':
          throw new ApiError(
            'INVALID_STATE',
            'the webhook is disabled; turn it back on (or wait for a probe to) before recovering its deliveries',
          );
        case 'done':
          return reply.code(202).send({ count: result.count, dry_run: dryRun });
      }
    },
  );
}
