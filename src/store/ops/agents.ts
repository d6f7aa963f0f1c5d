import { randomUUID } from 'node:crypto';
import type { Agent } from '../../domain/types.js';
import { type AgentInput, ConflictError, type IdempotentAnswer, type Page, type Paged } from '../store.js';
import { type Ctx, countAll, isUniqueViolation, readPage } from './context.js';
import { keepAnswerIn } from './idempotency.js';
import { toAgent } from './mappers.js';

export async function createAgent(
  { db }: Ctx,
  orgId: string,
  input: AgentInput,
  now: number,
  answer?: IdempotentAnswer<Agent>,
): Promise<Agent> {
  try {
    return await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('agents')
        .values({
          id: randomUUID(),
          org_id: orgId,
          name: input.name,
          description: input.description,
          provider: input.provider,
          is_active: input.isActive ? 1 : 0,
          config_enc: input.configEnc ?? null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const agent = toAgent(row);
      await keepAnswerIn(trx, answer, agent);
      return agent;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`an agent named "${input.name}" already exists`);
    throw err;
  }
}

export async function listAgents(
  { db }: Ctx,
  orgId: string,
  filter: { provider?: string },
  page: Page,
): Promise<Paged<Agent>> {
  let base = db.selectFrom('agents').where('org_id', '=', orgId);
  if (filter.provider !== undefined) base = base.where('provider', '=', filter.provider);
  return readPage(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(page.limit).offset(page.offset),
    base.select(countAll),
    toAgent,
  );
}

export async function getAgent({ db }: Ctx, orgId: string, id: string): Promise<Agent | null> {
  const row = await db
    .selectFrom('agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toAgent(row) : null;
}

export async function getAgentConfig(
  { db }: Ctx,
  orgId: string,
  id: string,
): Promise<{ agent: Agent; configEnc: string | null } | null> {
  const row = await db
    .selectFrom('agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? { agent: toAgent(row), configEnc: row.config_enc } : null;
}

export async function updateAgent(
  { db }: Ctx,
  orgId: string,
  id: string,
  patch: Partial<AgentInput>,
  now: number,
): Promise<Agent | null> {
  try {
    const row = await db
      .updateTable('agents')
      .set({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.provider !== undefined && { provider: patch.provider }),
        ...(patch.isActive !== undefined && { is_active: patch.isActive ? 1 : 0 }),
        ...(patch.configEnc !== undefined && { config_enc: patch.configEnc }),
        updated_at: now,
      })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toAgent(row) : null;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`an agent named "${patch.name}" already exists`);
    throw err;
  }
}

export async function deleteAgent({ db }: Ctx, orgId: string, id: string, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .deleteFrom('agents')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    // The agent's webhook goes with it; its pending deliveries end `failed` at their next claim.
    await trx
      .updateTable('webhooks')
      .set({ deleted_at: now, scope_key: null, updated_at: now })
      .where('org_id', '=', orgId)
      .where('agent_id', '=', id)
      .where('deleted_at', 'is', null)
      .execute();
    return true;
  });
}
