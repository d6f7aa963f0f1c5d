import { randomUUID } from 'node:crypto';
import type { CompiledQuery, ExpressionBuilder, Selectable } from 'kysely';
import type { ApiKey, Organization } from '../../domain/types.js';
import type { ApiKeysTable, Database } from '../schema.js';
import {
  type CreateApiKeyOutcome,
  MAX_ACTIVE_API_KEYS,
  type NewApiKey,
  type OrganizationSummary,
  type Page,
  type Paged,
  type RevokeOutcome,
} from '../store.js';
import { type Ctx, countAll, readPage } from './context.js';
import { toApiKey } from './mappers.js';
import { newApiKeyRow } from './newRows.js';
import { filledShape, Slots } from './statementShapes.js';

export async function countOrganizations({ db }: Ctx): Promise<number> {
  const row = await db.selectFrom('organizations').select(countAll).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function createOrganization(
  { db }: Ctx,
  name: string,
  key: NewApiKey,
  now: number,
): Promise<Organization> {
  const id = randomUUID();
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('organizations').values({ id, name, created_at: now }).execute();
    await trx
      .insertInto('api_keys')
      .values(newApiKeyRow(id, key, now))
      .execute();
  });
  return { id, name, createdAt: now };
}

/** Every API request reads its key: compiled once per store, then filled (statementShapes.ts). */
export async function findApiKey(ctx: Ctx, keyHash: string, now: number): Promise<ApiKey | null> {
  const { db } = ctx;
  const slots = new Slots();
  const hash = slots.one('key_hash', keyHash);
  const at = slots.one('now', now);
  const [q] = filledShape(ctx, 'findApiKey', slots, () => [
    db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hash as unknown as string)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at as unknown as number)]))
      .compile(),
  ]) as [CompiledQuery];
  const { rows } = await db.executeQuery<Selectable<ApiKeysTable>>(q);
  const row = rows[0];
  return row ? toApiKey(row) : null;
}

export async function touchApiKey({ db }: Ctx, id: string, now: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}

/**
 * A new key, unless the organization already has MAX_ACTIVE_API_KEYS that authenticate. The count
 * and the insert happen in one transaction, with the organization's row locked on PostgreSQL (SQLite
 * has one writer at a time), so concurrent creations cannot pass the limit together.
 */
export async function createApiKey(
  { db, hooks }: Ctx,
  orgId: string,
  key: NewApiKey,
  now: number,
): Promise<CreateApiKeyOutcome> {
  return db.transaction().execute(async (trx): Promise<CreateApiKeyOutcome> => {
    if (hooks.dialect === 'postgres') {
      await trx.selectFrom('organizations').select('id').where('id', '=', orgId).forUpdate().execute();
    }
    const active = await trx
      .selectFrom('api_keys')
      .select(countAll)
      .where('org_id', '=', orgId)
      .where(activeAt(now))
      .executeTakeFirstOrThrow();
    if (Number(active.n) >= MAX_ACTIVE_API_KEYS) return { kind: 'too_many_keys' };
    const row = await trx
      .insertInto('api_keys')
      .values(newApiKeyRow(orgId, key, now))
      .returningAll()
      .executeTakeFirstOrThrow();
    return { kind: 'created', key: toApiKey(row) };
  });
}

export async function listApiKeys({ db }: Ctx, orgId: string, page: Page): Promise<Paged<ApiKey>> {
  const base = db.selectFrom('api_keys').where('org_id', '=', orgId).where('revoked_at', 'is', null);
  return readPage(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(page.limit).offset(page.offset),
    base.select(countAll),
    toApiKey,
  );
}

/** Keys that authenticate at `now`: not revoked, not expired. */
function activeAt(now: number) {
  return (eb: ExpressionBuilder<Database, 'api_keys'>) =>
    eb.and([eb('revoked_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);
}

/**
 * Revokes a key. With `keepLastActiveKey`, an organization's last key that still authenticates is
 * refused (the API's rule: revoking it would lock the organization out); the admin CLI passes
 * false. The count and the revocation happen in one transaction, with the organization's row
 * locked on PostgreSQL, so two concurrent revocations cannot both remove "the other" key.
 */
export async function revokeApiKey(
  { db, hooks }: Ctx,
  input: { id: string; orgId: string | null; now: number; keepLastActiveKey: boolean },
): Promise<RevokeOutcome> {
  const { id, orgId, now, keepLastActiveKey } = input;
  return db.transaction().execute(async (trx): Promise<RevokeOutcome> => {
    let find = trx.selectFrom('api_keys').selectAll().where('id', '=', id).where('revoked_at', 'is', null);
    if (orgId !== null) find = find.where('org_id', '=', orgId);
    const row = await find.executeTakeFirst();
    if (!row) return { kind: 'not_found' };
    const key = toApiKey(row);
    const active = key.expiresAt === null || key.expiresAt > now;
    if (keepLastActiveKey && active) {
      if (hooks.dialect === 'postgres') {
        await trx.selectFrom('organizations').select('id').where('id', '=', key.orgId).forUpdate().execute();
      }
      const others = await trx
        .selectFrom('api_keys')
        .select(countAll)
        .where('org_id', '=', key.orgId)
        .where('id', '!=', key.id)
        .where(activeAt(now))
        .executeTakeFirstOrThrow();
      if (Number(others.n) === 0) return { kind: 'last_active_key' };
    }
    await trx.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', key.id).execute();
    return { kind: 'revoked', key: { ...key, revokedAt: now } };
  });
}

/** Every organization with the number of its keys that authenticate now, oldest first. */
export async function listOrganizations({ db }: Ctx, now: number): Promise<OrganizationSummary[]> {
  const rows = await db
    .selectFrom('organizations as o')
    .select((eb) => [
      'o.id',
      'o.name',
      'o.created_at',
      eb
        .selectFrom('api_keys')
        .select(countAll)
        .whereRef('api_keys.org_id', '=', 'o.id')
        .where(activeAt(now))
        .as('active_keys'),
    ])
    .orderBy('o.created_at')
    .orderBy('o.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: Number(r.created_at),
    activeKeys: Number(r.active_keys ?? 0),
  }));
}

/** Organizations whose id or name is `idOrName` (names are not unique, so there may be several). */
export async function findOrganizations({ db }: Ctx, idOrName: string): Promise<Organization[]> {
  const rows = await db
    .selectFrom('organizations')
    .select(['id', 'name', 'created_at'])
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) }));
}

/** All of an organization's keys, revoked ones included, newest first (for the admin CLI). */
export async function listAllApiKeys({ db }: Ctx, orgId: string): Promise<ApiKey[]> {
  const rows = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map(toApiKey);
}
