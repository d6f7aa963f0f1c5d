/**
 * The queues of `fifo` webhooks (docs/delivery.md#ordered-delivery). A queue is a webhook's event
 * deliveries of one agent. Its head is its pending delivery that is not waiting; the others wait:
 * `held_at` says when each joined the queue (its place) and `next_attempt_at` is WAITING_DUE_AT, a
 * time no claim reaches, so claims (claimDueDeliveries.ts) need not know about queues at all.
 *
 * Every change of a queue runs in one transaction with what caused it: a delivery joining it (a
 * run's event, a redelivery, a recover), its head ending (recordResults.ts), the webhook switched
 * to `parallel` or deleted. Each first locks the webhook's row (PostgreSQL; SQLite has one writer)
 * and then reads the queue in a statement of its own, so it sees what the previous holder of the
 * lock committed: a delivery never joins a queue whose head is ending without being released by it.
 */
import { CompiledQuery, sql } from 'kysely';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { Db, DialectHooks } from './context.js';

/** 9999-12-31T23:59:59.999Z: the due time of a waiting delivery; no claim ever finds it due. */
export const WAITING_DUE_AT = 253_402_300_799_999;

const PENDING = `'${DELIVERY_STATUS.pending}'`;

type Dialect = DialectHooks['dialect'];

/** `INDEXED BY` on SQLite, whose planner has no statistics (context.ts, indexedBy). */
const hint = (dialect: Dialect, index: string) => (dialect === 'sqlite' ? `INDEXED BY ${index}` : '');

/** The queue `q` has a head: a pending delivery that is not waiting (sent, or between retries). */
function headOf(dialect: Dialect): string {
  return `SELECT 1 FROM deliveries p ${hint(dialect, 'deliveries_pending_webhook')}
    WHERE p.status = ${PENDING} AND p.webhook_id = q.webhook_id AND p.next_attempt_at < ${WAITING_DUE_AT}
      AND p.agent_id = q.agent_id`;
}

/**
 * Settling queues: where a queue has no head, its first waiting delivery becomes the head, due
 * now; on a webhook that is off or deleted, its waiting deliveries end `failed` instead, as the
 * claim would end each of them (`webhook_disabled`, `webhook_deleted`), all at once.
 *
 * The queues are those of a batch's deliveries (`:ids`, a JSON array of delivery ids, on `fifo`
 * webhooks) or every queue of one webhook (`:webhook`). Fixed SQL text per dialect, `:name`
 * parameters (see compile). Each returns the ids it changed.
 */
function settleText(dialect: Dialect, source: 'deliveries' | 'webhook'): string[] {
  const ids =
    dialect === 'sqlite'
      ? 'SELECT value FROM json_each(:ids)'
      : 'SELECT jsonb_array_elements_text(CAST(:ids AS jsonb))';
  const queues =
    source === 'deliveries'
      ? `SELECT DISTINCT d.webhook_id, d.agent_id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.id IN (${ids}) AND d.agent_id IS NOT NULL AND w.ordering = 'fifo'`
      : `SELECT DISTINCT webhook_id, agent_id FROM deliveries ${hint(dialect, 'deliveries_held')}
         WHERE held_at IS NOT NULL AND webhook_id = :webhook`;
  const fail = `
    WITH q(webhook_id, agent_id) AS (${queues})
    UPDATE deliveries SET status = 'failed', held_at = NULL, next_attempt_at = NULL, updated_at = :now,
      failure_reason = (SELECT CASE WHEN w.deleted_at IS NULL THEN 'webhook_disabled' ELSE 'webhook_deleted' END
                        FROM webhooks w WHERE w.id = deliveries.webhook_id)
    WHERE id IN (
      SELECT h.id FROM q JOIN webhooks w ON w.id = q.webhook_id
        JOIN deliveries h ${hint(dialect, 'deliveries_held')}
          ON h.webhook_id = q.webhook_id AND h.agent_id = q.agent_id AND h.held_at IS NOT NULL
      WHERE (w.is_enabled = 0 OR w.deleted_at IS NOT NULL) AND NOT EXISTS (${headOf(dialect)}))
    RETURNING id`;
  const release = `
    WITH q(webhook_id, agent_id) AS (${queues})
    UPDATE deliveries SET held_at = NULL, next_attempt_at = :now, updated_at = :now
    WHERE id IN (
      SELECT (SELECT h.id FROM deliveries h ${hint(dialect, 'deliveries_held')}
              WHERE h.held_at IS NOT NULL AND h.webhook_id = q.webhook_id AND h.agent_id = q.agent_id
              ORDER BY h.held_at, h.created_at, h.id LIMIT 1)
      FROM q JOIN webhooks w ON w.id = q.webhook_id
      WHERE w.is_enabled = 1 AND w.deleted_at IS NULL AND NOT EXISTS (${headOf(dialect)}))
    RETURNING id`;
  return [fail, release];
}

/**
 * `:name` parameters to the dialect's: `?` in order on SQLite, `$n` per name on PostgreSQL. Done
 * once per text; `bind` then orders the values.
 */
function compile(dialect: Dialect, text: string) {
  const names: string[] = [];
  const out = text.replace(/:(ids|now|webhook)\b/g, (_, name: string) => {
    if (dialect === 'sqlite') {
      names.push(name);
      return '?';
    }
    if (!names.includes(name)) names.push(name);
    return `$${names.indexOf(name) + 1}`;
  });
  return (values: Record<string, unknown>) =>
    CompiledQuery.raw(
      out,
      names.map((n) => values[n]),
    );
}

const SETTLE = new Map<string, Array<(values: Record<string, unknown>) => CompiledQuery>>();

function settleStatements(dialect: Dialect, source: 'deliveries' | 'webhook') {
  const key = `${dialect}:${source}`;
  let made = SETTLE.get(key);
  if (!made) {
    made = settleText(dialect, source).map((text) => compile(dialect, text));
    SETTLE.set(key, made);
  }
  return made;
}

/**
 * The statements that settle the queues of a batch of recorded deliveries (recordResults.ts), to
 * run after their new states and, on PostgreSQL, after their webhooks' rows are locked.
 */
export function settleAfterResults(
  dialect: Dialect,
  deliveryIds: readonly string[],
  now: number,
): CompiledQuery[] {
  const values = { ids: JSON.stringify(deliveryIds), now };
  return settleStatements(dialect, 'deliveries').map((bind) => bind(values));
}

/** Settles every queue of one webhook whose row the transaction has locked (lockQueues). */
export async function settleWebhookQueues(trx: Db, hooks: DialectHooks, webhookId: string, now: number) {
  for (const bind of settleStatements(hooks.dialect, 'webhook')) {
    await trx.executeQuery(bind({ webhook: webhookId, now }));
  }
}

/**
 * Locks a webhook's row for a change of its queues (PostgreSQL; SQLite's transactions already
 * have the one write lock) and reads what the change depends on. Null when the webhook is gone.
 */
export async function lockQueues(trx: Db, hooks: DialectHooks, webhookId: string) {
  let q = trx
    .selectFrom('webhooks')
    .select(['ordering', 'is_enabled', 'deleted_at'])
    .where('id', '=', webhookId);
  if (hooks.dialect === 'postgres') q = q.forNoKeyUpdate();
  const row = await q.executeTakeFirst();
  return row ? { fifo: row.ordering === 'fifo' } : null;
}

/** Whether the queue (webhook, agent) has an unfinished delivery: a new one waits behind it. */
export async function queueBusy(trx: Db, hooks: DialectHooks, webhookId: string, agentId: string) {
  const { dialect } = hooks;
  const row = await sql<{ busy: number | string }>`
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM deliveries p ${sql.raw(hint(dialect, 'deliveries_pending_webhook'))}
        WHERE p.status = ${sql.raw(PENDING)} AND p.webhook_id = ${webhookId}
          AND p.next_attempt_at < ${sql.raw(String(WAITING_DUE_AT))} AND p.agent_id = ${agentId})
      OR EXISTS (
        SELECT 1 FROM deliveries h ${sql.raw(hint(dialect, 'deliveries_held'))}
        WHERE h.held_at IS NOT NULL AND h.webhook_id = ${webhookId} AND h.agent_id = ${agentId})
      THEN 1 ELSE 0 END AS busy`.execute(trx);
  return Number(row.rows[0]?.busy ?? 0) === 1;
}

/** The columns of a delivery that joins the queue behind an unfinished one. */
export function waitingColumns(now: number) {
  return { held_at: now, next_attempt_at: WAITING_DUE_AT };
}

/** A webhook switched to `parallel`: every waiting delivery is due now. */
export async function releaseAllWaiting(trx: Db, webhookId: string, now: number): Promise<number> {
  const res = await trx
    .updateTable('deliveries')
    .set({ held_at: null, next_attempt_at: now, updated_at: now })
    .where('webhook_id', '=', webhookId)
    .where('held_at', 'is not', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** A webhook deleted: its waiting deliveries end as the claim ends its others (`webhook_deleted`). */
export async function failAllWaiting(trx: Db, webhookId: string, now: number): Promise<void> {
  await trx
    .updateTable('deliveries')
    .set({
      status: DELIVERY_STATUS.failed,
      failure_reason: 'webhook_deleted',
      held_at: null,
      next_attempt_at: null,
      updated_at: now,
    })
    .where('webhook_id', '=', webhookId)
    .where('held_at', 'is not', null)
    .execute();
}
