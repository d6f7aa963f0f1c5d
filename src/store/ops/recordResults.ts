import { CompiledQuery } from 'kysely';
import { isGone } from '../../domain/classifyOutcome.js';
import {
  ATTEMPT_TRIGGER,
  DELIVERY_STATUS,
  type DeliveryOutcome,
  type DeliveryStatus,
} from '../../domain/types.js';
import type { DeliveryResult } from '../store.js';
import type { Ctx } from './context.js';
import { settleAfterResults } from './fifo.js';
import { attemptRequestText } from './mappers.js';

/**
 * Writes a batch of outcomes in one transaction: the attempts, the deliveries' new state, and
 * each webhook's `consecutive_failures` / `last_triggered_at` / `is_enabled`. Three statements
 * whatever the batch's size, all sent as one batch: this is the group commit that keeps the hot
 * path fast.
 *
 * Each statement takes its rows as one JSON array parameter (rows as arrays, read by position), so
 * its SQL text never changes: it is written once per dialect, not compiled per batch, and the
 * database prepares it once (docs/architecture.md#group-commit).
 */
export async function recordResults({ hooks }: Ctx, results: DeliveryResult[]): Promise<void> {
  if (results.length === 0) return;
  const text = statementsFor(hooks.dialect);
  const attempts: unknown[] = [];
  const deliveries: unknown[] = [];
  for (const r of results) {
    const a = r.attempt;
    if (a) {
      attempts.push([
        a.id,
        a.deliveryId,
        a.attemptNumber,
        a.trigger,
        a.startedAt,
        a.responseTimeMs,
        a.httpStatus,
        a.errorClass,
        a.errorMessage,
        // Without the body: it is the delivery's (mappers.ts, attemptRequestText).
        attemptRequestText(a.request),
        a.response === null ? null : JSON.stringify(a.response),
        r.leaseOwner,
      ]);
    }
    const o = r.outcome;
    deliveries.push([
      r.deliveryId,
      statusAfter(o),
      a ? 1 : 0,
      o.kind === 'retry' ? 1 : 0,
      o.kind === 'retry' ? o.at : null,
      r.leaseOwner,
      a?.httpStatus ?? null,
      a?.responseTimeMs ?? null,
      r.finishedAt,
      o.kind === 'failed' ? o.reason : null,
    ]);
  }
  const statements: CompiledQuery[] = [];
  if (attempts.length > 0) statements.push(CompiledQuery.raw(text.attempts, [JSON.stringify(attempts)]));
  statements.push(CompiledQuery.raw(text.deliveries, [JSON.stringify(deliveries)]));
  if (text.lockWebhooks) {
    const ids = [...new Set(results.map((r) => r.webhookId))].sort();
    statements.push(CompiledQuery.raw(text.lockWebhooks, [JSON.stringify(ids)]));
  }
  const perWebhook = summariseWebhooks(results);
  if (perWebhook.length > 0) {
    const rows = perWebhook.map((w) => [
      w.webhookId,
      w.reset ? 1 : 0,
      w.failures,
      w.lastTriggeredAt,
      w.disable ? 1 : 0,
      w.failedDeliveries,
      w.firstFailureAt,
    ]);
    statements.push(CompiledQuery.raw(text.webhooks, [JSON.stringify(rows)]));
  }
  // The deliveries that ended may have been the heads of `fifo` queues: the next of each is due now
  // (docs/delivery.md#ordered-delivery). Under the webhooks' row locks, after their new states.
  const ended = results.filter(
    (r) =>
      r.outcome.kind !== 'retry' && r.trigger !== ATTEMPT_TRIGGER.test && r.trigger !== ATTEMPT_TRIGGER.probe,
  );
  if (ended.length > 0) {
    const at = Math.max(...ended.map((r) => r.finishedAt));
    statements.push(
      ...settleAfterResults(
        hooks.dialect,
        ended.map((r) => r.deliveryId),
        at,
      ),
    );
  }
  const done = await hooks.runBatch(statements, { durable: true });
  if (ended.length > 0 && released(done.slice(-2))) await hooks.notifyNewWork();
  // One notice per batch for the live tail (docs/architecture.md#live-tail), after the commit.
  let fromId: string | null = null;
  for (const r of results) if (r.attempt && (fromId === null || r.attempt.id < fromId)) fromId = r.attempt.id;
  if (fromId !== null) hooks.notifyAttempts(fromId);
}

interface RecordStatements {
  attempts: string;
  deliveries: string;
  /**
   * PostgreSQL: locks the batch's webhook rows in id order before the webhooks statement updates
   * them. Two workers' batches that share webhooks otherwise lock them in whatever order their
   * joins produce, and deadlock (PostgreSQL breaks it after deadlock_timeout, 1 s, by failing one
   * batch, whose leases may run out meanwhile: the delivery is sent again). SQLite has one writer.
   * Every webhook of the batch, so that settling `fifo` queues (fifo.ts) holds their locks too.
   */
  lockWebhooks?: string;
  webhooks: string;
}

const STATEMENTS = new Map<string, RecordStatements>();

/** The three statements' SQL text for a dialect, written once. */
function statementsFor(dialect: 'sqlite' | 'postgres'): RecordStatements {
  let text = STATEMENTS.get(dialect);
  if (!text) {
    text = recordStatements(dialect);
    STATEMENTS.set(dialect, text);
  }
  return text;
}

function recordStatements(dialect: 'sqlite' | 'postgres'): RecordStatements {
  // The rows of the JSON array parameter, each as `e.value` (a JSON array), on either database.
  const rows = dialect === 'sqlite' ? 'json_each(?) AS e' : 'jsonb_array_elements(CAST($1 AS jsonb)) AS e';
  const col = (i: number, type: 'text' | 'integer' | 'bigint') => `CAST(e.value->>${i} AS ${type})`;
  return {
    // Only an owner's attempt is logged, like its outcome below: a worker that stalled past its
    // lease, declared lost by another (recordLostAttempts.ts), has its attempt in the history as
    // worker_lost already (docs/delivery.md#leases-and-at-least-once). PostgreSQL locks the rows it
    // checks, so that declaration cannot commit between this statement and the next.
    attempts: `
      INSERT INTO attempts (id, delivery_id, attempt_number, trigger, started_at, response_time_ms,
                            http_status, error_class, error_message, request, response)
      SELECT ${col(0, 'text')}, ${col(1, 'text')}, ${col(2, 'integer')}, ${col(3, 'text')}, ${col(4, 'bigint')},
             ${col(5, 'integer')}, ${col(6, 'integer')}, ${col(7, 'text')}, ${col(8, 'text')}, ${col(9, 'text')},
             ${col(10, 'text')}
      FROM ${rows} JOIN deliveries d ON d.id = ${col(1, 'text')} AND d.lease_owner = ${col(11, 'text')}${
        dialect === 'postgres' ? ' FOR NO KEY UPDATE OF d' : ''
      }`,
    deliveries: `
      WITH v(id, status, add_attempt, add_retry, next_at, owner, http_status, rt, done_at, failure_reason) AS (
        SELECT ${col(0, 'text')}, ${col(1, 'text')}, ${col(2, 'integer')}, ${col(3, 'integer')}, ${col(4, 'bigint')},
               ${col(5, 'text')}, ${col(6, 'integer')}, ${col(7, 'integer')}, ${col(8, 'bigint')}, ${col(9, 'text')}
        FROM ${rows})
      UPDATE deliveries SET
        status = v.status,
        attempt_count = deliveries.attempt_count + v.add_attempt,
        retries_done = deliveries.retries_done + v.add_retry,
        next_attempt_at = v.next_at,
        next_trigger = '${ATTEMPT_TRIGGER.scheduled}',
        final_attempt = 0,
        lease_owner = NULL,
        lease_until = NULL,
        last_http_status = CASE WHEN v.add_attempt = 1 THEN v.http_status ELSE deliveries.last_http_status END,
        last_response_time_ms = CASE WHEN v.add_attempt = 1 THEN v.rt ELSE deliveries.last_response_time_ms END,
        updated_at = v.done_at,
        failure_reason = v.failure_reason
      FROM v
      WHERE deliveries.id = v.id AND deliveries.lease_owner = v.owner`,
    lockWebhooks:
      dialect === 'postgres'
        ? `
      SELECT w.id FROM webhooks w
      WHERE w.id IN (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))
      ORDER BY w.id
      FOR NO KEY UPDATE`
        : undefined,
    webhooks: `
      WITH v(id, reset, failures, triggered_at, disable, failed_deliveries, first_failure) AS (
        SELECT ${col(0, 'text')}, ${col(1, 'integer')}, ${col(2, 'integer')}, ${col(3, 'bigint')}, ${col(4, 'integer')},
               ${col(5, 'integer')}, ${col(6, 'bigint')}
        FROM ${rows})
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
        -- The webhook changed (is_enabled), as when a failing streak or a person turns it off.
        updated_at = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN v.triggered_at ELSE webhooks.updated_at END,
        probe_count = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN 0 ELSE webhooks.probe_count END,
        next_probe_at = CASE WHEN v.disable = 1 AND webhooks.is_enabled = 1 THEN NULL ELSE webhooks.next_probe_at END
      FROM v
      WHERE webhooks.id = v.id`,
  };
}

/** Whether the settle statements (the last two) changed a row: a delivery was released or ended. */
function released(results: Array<{ rows: Record<string, unknown>[] }>): boolean {
  return results.some((r) => r.rows.length > 0);
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
    s.disable ||= isGone(r.outcome);
  }
  return [...map.values()];
}
