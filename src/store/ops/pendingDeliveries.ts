import { sql } from 'kysely';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { Ctx } from './context.js';

export async function countPending(
  { db }: Ctx,
  now: number,
): Promise<{ pending: number; oldestDueAt: number | null }> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => [sql<number>`count(*)`.as('n'), eb.fn.min('next_attempt_at').as('oldest')])
    .where('status', '=', DELIVERY_STATUS.pending)
    .executeTakeFirstOrThrow();
  const oldest = row.oldest == null ? null : Number(row.oldest);
  return { pending: Number(row.n), oldestDueAt: oldest !== null && oldest <= now ? oldest : null };
}
