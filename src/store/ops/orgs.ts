import { randomUUID } from 'node:crypto';
import type { ApiKey, Organization } from '../../domain/types.js';
import type { NewApiKey, Page, Paged } from '../store.js';
import { type Ctx, countAll, readPage } from './context.js';
import { toApiKey } from './mappers.js';

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
      .values({
        id: key.id,
        org_id: id,
        name: key.name,
        key_hash: key.keyHash,
        prefix: key.prefix,
        created_at: now,
        expires_at: key.expiresAt,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
  });
  return { id, name, createdAt: now };
}

export async function findApiKey({ db }: Ctx, keyHash: string, now: number): Promise<ApiKey | null> {
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? toApiKey(row) : null;
}

export async function touchApiKey({ db }: Ctx, id: string, now: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}

export async function createApiKey({ db }: Ctx, orgId: string, key: NewApiKey, now: number): Promise<ApiKey> {
  const row = await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      org_id: orgId,
      name: key.name,
      key_hash: key.keyHash,
      prefix: key.prefix,
      created_at: now,
      expires_at: key.expiresAt,
      last_used_at: null,
      revoked_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toApiKey(row);
}

export async function listApiKeys({ db }: Ctx, orgId: string, page: Page): Promise<Paged<ApiKey>> {
  const base = db.selectFrom('api_keys').where('org_id', '=', orgId).where('revoked_at', 'is', null);
  return readPage(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(page.limit).offset(page.offset),
    base.select(countAll),
    toApiKey,
  );
}

export async function revokeApiKey({ db }: Ctx, orgId: string, id: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
