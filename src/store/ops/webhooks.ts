import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { DEFAULT_WEBHOOK_EVENTS, type Webhook } from '../../domain/types.js';
import {
  type IdempotentAnswer,
  type Page,
  type Paged,
  SECRET_ROTATION_GRACE_MS,
  type WebhookInput,
  type WebhookPatch,
} from '../store.js';
import { type Ctx, countAll, type Db, readPage } from './context.js';
import { failAllWaiting, releaseAllWaiting } from './fifo.js';
import { keepAnswerIn } from './idempotency.js';
import { filterToText, toWebhook } from './mappers.js';

export async function createWebhook(
  { db }: Ctx,
  orgId: string,
  input: WebhookInput,
  now: number,
  answer?: IdempotentAnswer<Webhook>,
): Promise<Webhook> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('webhooks')
      .values({
        id: randomUUID(),
        org_id: orgId,
        agent_id: input.agentId,
        // Several webhooks per scope (docs/delivery.md#which-webhook-receives-an-event): no scope key.
        scope_key: null,
        url: input.url,
        description: input.description,
        is_enabled: input.isEnabled ? 1 : 0,
        format: input.format,
        headers: JSON.stringify(input.headers),
        secret_enc: input.secretEnc,
        previous_secret_enc: null,
        previous_secret_until: null,
        signature_scheme: input.signatureScheme ?? 'hmac-sha256',
        signing_key_enc: input.signingKey?.signingKeyEnc ?? null,
        public_key: input.signingKey?.publicKey ?? null,
        ordering: input.ordering ?? 'parallel',
        last_triggered_at: null,
        consecutive_failures: 0,
        disabled_reason: input.isEnabled ? null : 'manual',
        disabled_at: input.isEnabled ? null : now,
        filter: filterToText(input.filter ?? null),
        events: JSON.stringify(input.events ?? DEFAULT_WEBHOOK_EVENTS),
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const webhook = toWebhook(row);
    await keepAnswerIn(trx, answer, webhook);
    return webhook;
  });
}

export async function listWebhooks(
  { db }: Ctx,
  orgId: string,
  filter: { agentId?: string },
  page: Page,
): Promise<Paged<Webhook>> {
  let base = db.selectFrom('webhooks').where('org_id', '=', orgId).where('deleted_at', 'is', null);
  if (filter.agentId) base = base.where('agent_id', '=', filter.agentId);
  return readPage(
    base
      .selectAll()
      .select(waitingCount)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset),
    base.select(countAll),
    toWebhook,
  );
}

export async function getWebhook({ db }: Ctx, orgId: string, id: string): Promise<Webhook | null> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .select(waitingCount)
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? toWebhook(row) : null;
}

export async function findWebhook({ db }: Ctx, id: string): Promise<Webhook | null> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? toWebhook(row) : null;
}

export async function updateWebhook(
  ctx: Ctx,
  orgId: string,
  id: string,
  patch: WebhookPatch,
  now: number,
): Promise<Webhook | null> {
  let released = 0;
  const found = await ctx.db.transaction().execute(async (trx) => {
    const row = await updateRow(trx, orgId, id, patch, now);
    // Switched to `parallel` (or saved as it): nothing waits any more (docs/delivery.md#ordered-delivery).
    // The UPDATE holds the webhook's row lock, which every change of its queues takes first (fifo.ts).
    if (row && row.ordering === 'parallel') released = await releaseAllWaiting(trx, id, now);
    return row !== undefined;
  });
  if (released > 0) await ctx.hooks.notifyNewWork();
  return found ? getWebhook(ctx, orgId, id) : null;
}

function updateRow(db: Db, orgId: string, id: string, patch: WebhookPatch, now: number) {
  return db
    .updateTable('webhooks')
    .set((eb) => ({
      ...(patch.url !== undefined && { url: patch.url }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.isEnabled === false && {
        // Turned off by a person: `manual`, dated now. A webhook already off keeps its reason and
        // date (saving the form of a webhook the system disabled does not make it `manual`).
        is_enabled: 0,
        disabled_reason: sql<string>`CASE WHEN is_enabled = 1 THEN 'manual' ELSE disabled_reason END`,
        disabled_at: sql<number>`CASE WHEN is_enabled = 1 THEN ${now} ELSE disabled_at END`,
      }),
      ...(patch.isEnabled === true && {
        // Turned back on: a fresh start, so the old failure streak cannot turn it off again at once.
        is_enabled: 1,
        disabled_reason: null,
        disabled_at: null,
        consecutive_failures: sql<number>`CASE WHEN is_enabled = 1 THEN consecutive_failures ELSE 0 END`,
        failed_streak: sql<number>`CASE WHEN is_enabled = 1 THEN failed_streak ELSE 0 END`,
        failing_since: sql<number | null>`CASE WHEN is_enabled = 1 THEN failing_since ELSE NULL END`,
        probe_count: 0,
        next_probe_at: null,
        recovered_by: sql<string | null>`CASE WHEN is_enabled = 1 THEN recovered_by ELSE 'manual' END`,
      }),
      ...(patch.format !== undefined && { format: patch.format }),
      ...(patch.headers !== undefined && { headers: JSON.stringify(patch.headers) }),
      ...(patch.filter !== undefined && { filter: filterToText(patch.filter) }),
      ...(patch.events !== undefined && { events: JSON.stringify(patch.events) }),
      ...(patch.secretEnc !== undefined && {
        secret_enc: patch.secretEnc,
        // Replacing a secret starts a rotation: the old one (as read by this UPDATE) keeps signing
        // for a day. Clearing the secret ends signing at once.
        previous_secret_enc: patch.secretEnc === null ? null : eb.ref('secret_enc'),
        previous_secret_until: patch.secretEnc === null ? null : now + SECRET_ROTATION_GRACE_MS,
      }),
      ...(patch.signatureScheme !== undefined && { signature_scheme: patch.signatureScheme }),
      ...(patch.ordering !== undefined && { ordering: patch.ordering }),
      ...(patch.signingKey === null && {
        signing_key_enc: null,
        public_key: null,
        previous_signing_key_enc: null,
        previous_public_key: null,
        previous_signing_key_until: null,
      }),
      ...(patch.signingKey && {
        signing_key_enc: patch.signingKey.signingKeyEnc,
        public_key: patch.signingKey.publicKey,
        // A new pair starts a rotation, as a new secret does: the pair this UPDATE replaces keeps
        // signing for a day (none when the webhook had no pair).
        previous_signing_key_enc: eb.ref('signing_key_enc'),
        previous_public_key: eb.ref('public_key'),
        previous_signing_key_until: sql<
          number | null
        >`CASE WHEN signing_key_enc IS NULL THEN NULL ELSE CAST(${now + SECRET_ROTATION_GRACE_MS} AS bigint) END`,
      }),
      updated_at: now,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(['id', 'ordering'])
    .executeTakeFirst();
}

export async function deleteWebhook({ db }: Ctx, orgId: string, id: string, now: number): Promise<boolean> {
  // Soft delete: the delivery history keeps pointing at it; pending deliveries end `failed` at their
  // next claim, and those waiting in a `fifo` queue at once (they would never be due).
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('webhooks')
      .set({ deleted_at: now, scope_key: null, updated_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    const deleted = Number(res.numUpdatedRows) > 0;
    if (deleted) await failAllWaiting(trx, id, now);
    return deleted;
  });
}

/** A webhook's deliveries waiting in its `fifo` queues (docs/api.md#ordering), from `deliveries_held`. */
const waitingCount = sql<number | string>`(SELECT count(*) FROM deliveries d
  WHERE d.webhook_id = webhooks.id AND d.held_at IS NOT NULL)`.as('waiting_count');
