import { type CompiledQuery, sql } from 'kysely';
import {
  ATTEMPT_TRIGGER,
  DELIVERY_STATUS,
  type DeliveryOutcome,
  type DeliveryStatus,
} from '../../domain/types.js';
import type { DeliveryResult } from '../store.js';
import type { Ctx } from './context.js';

const CHUNK = 200;

/**
 * Writes a batch of outcomes in one transaction: the attempts, the deliveries' new state, and
 * each webhook's `consecutive_failures` / `last_triggered_at` / `is_enabled`. Three statements per
 * chunk whatever its size, all sent as one batch: this is the group commit that keeps the hot
 * path fast.
 */
export async function recordResults({ db, hooks }: Ctx, results: DeliveryResult[]): Promise<void> {
  if (results.length === 0) return;
  const statements: CompiledQuery[] = [];
  for (let i = 0; i < results.length; i += CHUNK) {
    const chunk = results.slice(i, i + CHUNK);
    const attempts = chunk.flatMap((r) =>
      r.attempt
        ? [
            {
              id: r.attempt.id,
              delivery_id: r.attempt.deliveryId,
              attempt_number: r.attempt.attemptNumber,
              trigger: r.attempt.trigger,
              started_at: r.attempt.startedAt,
              response_time_ms: r.attempt.responseTimeMs,
              http_status: r.attempt.httpStatus,
              error_class: r.attempt.errorClass,
              error_message: r.attempt.errorMessage,
              request: JSON.stringify(r.attempt.request),
              response: r.attempt.response === null ? null : JSON.stringify(r.attempt.response),
            },
          ]
        : [],
    );
    if (attempts.length > 0) statements.push(db.insertInto('attempts').values(attempts).compile());

    const values = chunk.map(
      (
        r,
      ) => sql`(CAST(${r.deliveryId} AS text), CAST(${statusAfter(r.outcome)} AS text), CAST(${r.attempt ? 1 : 0} AS integer),
        CAST(${r.outcome.kind === 'retry' ? 1 : 0} AS integer), CAST(${r.outcome.kind === 'retry' ? r.outcome.at : null} AS bigint), CAST(${r.leaseOwner} AS text),
        CAST(${r.attempt?.httpStatus ?? null} AS integer), CAST(${r.attempt?.responseTimeMs ?? null} AS integer),
        CAST(${r.finishedAt} AS bigint), CAST(${r.outcome.kind === 'failed' ? r.outcome.reason : null} AS text))`,
    );
    statements.push(
      sql`
      WITH v(id, status, add_attempt, add_retry, next_at, owner, http_status, rt, done_at, failure_reason) AS (VALUES ${sql.join(values)})
      UPDATE deliveries SET
        status = v.status,
        attempt_count = deliveries.attempt_count + v.add_attempt,
        retries_done = deliveries.retries_done + v.add_retry,
        next_attempt_at = v.next_at,
        next_trigger = ${sql.lit(ATTEMPT_TRIGGER.scheduled)},
        final_attempt = 0,
        lease_owner = NULL,
        lease_until = NULL,
        last_http_status = CASE WHEN v.add_attempt = 1 THEN v.http_status ELSE deliveries.last_http_status END,
        last_response_time_ms = CASE WHEN v.add_attempt = 1 THEN v.rt ELSE deliveries.last_response_time_ms END,
        updated_at = v.done_at,
        failure_reason = v.failure_reason
      FROM v
      WHERE deliveries.id = v.id AND deliveries.lease_owner = v.owner`.compile(db),
    );

    const perWebhook = summariseWebhooks(chunk);
    if (perWebhook.length > 0) {
      const wv = perWebhook.map(
        (
          w,
        ) => sql`(CAST(${w.webhookId} AS text), CAST(${w.reset ? 1 : 0} AS integer), CAST(${w.failures} AS integer),
          CAST(${w.lastTriggeredAt} AS bigint), CAST(${w.disable ? 1 : 0} AS integer),
          CAST(${w.failedDeliveries} AS integer), CAST(${w.firstFailureAt} AS bigint))`,
      );
      statements.push(
        sql`
        WITH v(id, reset, failures, triggered_at, disable, failed_deliveries, first_failure) AS (VALUES ${sql.join(wv)})
        UPDATE webhooks SET
          consecutive_failures = CASE WHEN v.reset = 1 THEN v.failures ELSE webhooks.consecutive_failures + v.failures END,
          -- The failure streak auto-disable reads (docs/receiving-webhooks.md#when-your-endpoint-fails).
          failed_streak = CASE WHEN v.reset = 1 THEN v.failed_deliveries ELSE webhooks.failed_streak + v.failed_deliveries END,
          failing_since = CASE WHEN v.reset = 1 THEN v.first_failure
                               ELSE COALESCE(webhooks.failing_since, v.first_failure) END,
          last_triggered_at = CASE WHEN webhooks.last_triggered_at IS NULL OR webhooks.last_triggered_at < v.triggered_at
                                   THEN v.triggered_at ELSE webhooks.last_triggered_at END,
          is_enabled = CASE WHEN v.disable = 1 THEN 0 ELSE webhooks.is_enabled END,
          -- A 410 turns the webhook off with reason gone, dated, its probes starting from here.
          disabled_reason = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN 'gone' ELSE webhooks.disabled_reason END,
          disabled_at = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN v.triggered_at ELSE webhooks.disabled_at END,
          probe_count = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN 0 ELSE webhooks.probe_count END,
          next_probe_at = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN NULL ELSE webhooks.next_probe_at END
        FROM v
        WHERE webhooks.id = v.id`.compile(db),
      );
    }
  }
  await hooks.runBatch(statements, { durable: true });
}

/** The delivery's status once this outcome is applied: a retry keeps it pending. */
function statusAfter(outcome: DeliveryOutcome): DeliveryStatus {
  if (outcome.kind === 'delivered') return DELIVERY_STATUS.succeeded;
  if (outcome.kind === 'retry') return DELIVERY_STATUS.pending;
  return DELIVERY_STATUS.failed;
}

interface WebhookSummary {
  webhookId: string;
  reset: boolean;
  failures: number;
  lastTriggeredAt: number;
  disable: boolean;
  /** Deliveries that ended failed after the batch's last success (probes aside). */
  failedDeliveries: number;
  /** The first failed attempt after the batch's last success (probes aside). */
  firstFailureAt: number | null;
}

/**
 * Folds a batch's attempts per webhook, in order: a success resets the failure count and the
 * failure streak. Test attempts count for nothing; a failed probe of a disabled webhook is not
 * part of its streak.
 */
function summariseWebhooks(chunk: DeliveryResult[]): WebhookSummary[] {
  const map = new Map<string, WebhookSummary>();
  for (const r of chunk) {
    if (!r.attempt || r.trigger === ATTEMPT_TRIGGER.test) continue;
    let s = map.get(r.webhookId);
    if (!s) {
      s = {
        webhookId: r.webhookId,
        reset: false,
        failures: 0,
        lastTriggeredAt: 0,
        disable: false,
        failedDeliveries: 0,
        firstFailureAt: null,
      };
      map.set(r.webhookId, s);
    }
    if (r.outcome.kind === 'delivered') {
      s.reset = true;
      s.failures = 0;
      s.failedDeliveries = 0;
      s.firstFailureAt = null;
    } else {
      s.failures += 1;
      if (r.trigger !== ATTEMPT_TRIGGER.probe) {
        s.firstFailureAt ??= r.attempt.startedAt;
        if (r.outcome.kind === 'failed') s.failedDeliveries += 1;
      }
    }
    s.lastTriggeredAt = Math.max(s.lastTriggeredAt, r.attempt.startedAt);
    s.disable ||= r.outcome.kind === 'failed' && r.outcome.reason === 'gone';
  }
  return [...map.values()];
}
