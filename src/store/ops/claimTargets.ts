/**
 * What a claim or a hand-off sends: each leased row with its webhook's send target and state, read
 * in the same batch as the lease (docs/architecture.md#claims).
 */
import { type CompiledQuery, sql } from 'kysely';
import { ATTEMPT_TRIGGER, type AttemptTrigger } from '../../domain/types.js';
import type { ClaimedDelivery } from '../store.js';
import type { ClaimedRow } from './claimStatements.js';
import type { Ctx } from './context.js';
import { type SendTargetRow, sendTarget } from './sendTarget.js';
import { filledShape, Slots } from './statementShapes.js';

const WEBHOOK_TARGET_COLUMNS = [
  'id',
  'url',
  'format',
  'headers',
  'secret_enc',
  'previous_secret_enc',
  'previous_secret_until',
  'signing_key_enc',
  'previous_signing_key_enc',
  'previous_signing_key_until',
  'is_enabled',
  'deleted_at',
] as const;

/** The webhooks' send targets and state, read in a hand-off's unit (`ids`: values or slots). */
export function readWebhooksQuery(db: Ctx['db'], ids: readonly unknown[]) {
  return db
    .selectFrom('webhooks')
    .select(WEBHOOK_TARGET_COLUMNS)
    .where('id', 'in', ids as string[])
    .compile();
}

/**
 * The same read in a claim's batch: the ids as one JSON list, so the text is the same for any
 * number of webhooks and is compiled once per store (statementShape); building it per claim was
 * about 2 % of the main thread under API load.
 */
export function readWebhooksList(ctx: Ctx, ids: readonly string[]): CompiledQuery {
  const slots = new Slots();
  const list = slots.one('webhook_ids', JSON.stringify(ids));
  const [query] = filledShape(ctx, 'claim:readWebhooks', slots, () => {
    const each =
      ctx.hooks.dialect === 'sqlite'
        ? sql`SELECT value FROM json_each(${list})`
        : sql`SELECT jsonb_array_elements_text(CAST(${list} AS jsonb))`;
    return [
      ctx.db
        .selectFrom('webhooks')
        .select(WEBHOOK_TARGET_COLUMNS)
        .where(sql<boolean>`id IN (${each})`)
        .compile(),
    ];
  });
  return query as CompiledQuery;
}

/** A leased row as the worker sends it (`w`: its webhook, undefined when the row is gone). */
export function claimedDelivery(
  r: ClaimedRow,
  w: ReturnType<typeof targetOf> | undefined,
  workerId: string,
): ClaimedDelivery {
  return {
    deliveryId: r.id,
    eventId: r.event_id,
    orgId: r.org_id,
    webhookId: r.webhook_id,
    body: r.body,
    attemptCount: Number(r.attempt_count),
    retriesDone: Number(r.retries_done),
    trigger: r.next_trigger as AttemptTrigger,
    finalAttempt: Number(r.final_attempt) === 1,
    leaseOwner: workerId,
    // Test deliveries are sent even to a disabled webhook (people test before they switch it on).
    // Deliveries of one webhook share its target object: nothing downstream changes it.
    target: !w?.live ? DELETED : w.enabled || r.next_trigger === ATTEMPT_TRIGGER.test ? w.target : DISABLED,
  };
}

export function targetOf(w: WebhookRow, now: number) {
  return { live: w.deleted_at === null, enabled: Number(w.is_enabled) === 1, target: sendTarget(w, now) };
}

const DELETED = Object.freeze({ unsendable: 'webhook_deleted' as const });
const DISABLED = Object.freeze({ unsendable: 'webhook_disabled' as const });

export interface WebhookRow extends SendTargetRow {
  id: string;
  is_enabled: number | string;
  deleted_at: number | string | null;
}
