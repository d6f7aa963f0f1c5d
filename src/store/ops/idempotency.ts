/**
 * `Idempotency-Key` (docs/api.md#idempotency): the first answer to a keyed request, kept 24 hours
 * per organization and key. The primary key (org_id, key) is what makes two requests that arrive
 * at once safe: exactly one insert wins the key, the other sees it taken.
 */
import {
  IDEMPOTENCY_TTL_MS,
  type IdempotencyClaim,
  IdempotencyKeyTakenError,
  type IdempotentAnswer,
} from '../store.js';
import type { Ctx, Db } from './context.js';

/**
 * Keeps the answer of the request holding the key, inside the transaction that stores what it
 * created (`trx`). When another request answered the key first (it took over a key whose lock ran
 * out), throws IdempotencyKeyTakenError so the transaction rolls back: one of them commits.
 */
export async function keepAnswerIn<T>(
  trx: Db,
  answer: IdempotentAnswer<T> | undefined,
  stored: T,
): Promise<void> {
  if (answer === undefined) return;
  const { statusCode, body } = answer.render(stored);
  const res = await trx
    .updateTable('idempotency_keys')
    .set({ status_code: statusCode, response: body })
    .where('org_id', '=', answer.orgId)
    .where('key', '=', answer.key)
    .where('status_code', 'is', null)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) {
    throw new IdempotencyKeyTakenError('another request with this Idempotency-Key was answered first');
  }
}

/**
 * Takes the key for a request with this fingerprint, or says why not: the kept answer (same
 * request), a mismatch (another request used the key), or "in progress" (the first request is
 * still being answered). A key held past `lockedUntil` by a process that died is taken over.
 */
export async function claimIdempotencyKey(
  ctx: Ctx,
  input: { orgId: string; key: string; fingerprint: string; now: number; lockMs: number },
): Promise<IdempotencyClaim> {
  const { db } = ctx;
  const { orgId, key, fingerprint, now, lockMs } = input;
  // Expired answers are pruned on every keyed write (cheap: an index range on created_at), so an
  // expired key is free again; `pruneIdempotencyKeys` does the same for a sweeper.
  await pruneIdempotencyKeys(ctx, now - IDEMPOTENCY_TTL_MS);
  for (;;) {
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        org_id: orgId,
        key,
        fingerprint,
        status_code: null,
        response: null,
        created_at: now,
        locked_until: now + lockMs,
      })
      .onConflict((oc) => oc.columns(['org_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { kind: 'claimed' };

    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) continue; // released or pruned in between: try the insert again
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.status_code !== null && row.response !== null) {
      return { kind: 'replay', statusCode: Number(row.status_code), body: row.response };
    }
    if (Number(row.locked_until) > now) return { kind: 'in_progress' };
    // The first request's process died mid-way: take the key over, if nobody else just did.
    const taken = await db
      .updateTable('idempotency_keys')
      .set({ locked_until: now + lockMs })
      .where('org_id', '=', orgId)
      .where('key', '=', key)
      .where('status_code', 'is', null)
      .where('locked_until', '=', row.locked_until)
      .returning('key')
      .executeTakeFirst();
    if (taken) return { kind: 'claimed' };
  }
}

/** Keeps the answer to the request that claimed the key. */
export async function completeIdempotencyKey(
  { db }: Ctx,
  input: { orgId: string; key: string; statusCode: number; body: string },
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: input.statusCode, response: input.body })
    .where('org_id', '=', input.orgId)
    .where('key', '=', input.key)
    .where('status_code', 'is', null)
    .execute();
}

/** Gives the key back unanswered (the request failed and changed nothing): a retry runs afresh. */
export async function releaseIdempotencyKey({ db }: Ctx, orgId: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .where('status_code', 'is', null)
    .execute();
}

/** Deletes answers kept since before `before` (epoch ms); returns how many. */
export async function pruneIdempotencyKeys({ db }: Ctx, before: number): Promise<number> {
  const res = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
