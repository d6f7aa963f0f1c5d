import { sql } from 'kysely';
import { DELIVERY_STATUS } from '../../domain/types.js';
import type { Ctx } from './context.js';

/**
 * When the next pending delivery becomes claimable: its due time, or the end of its lease if later.
 * Two index walks instead of one pass over every pending row: the earliest unleased delivery
 * (`deliveries_due`), and the leased ones (`deliveries_lease`; only pending deliveries hold a
 * lease, and there are about as many as attempts in flight).
 */
export async function nextDueAt({ db }: Ctx): Promise<number | null> {
  const [unleased, leased] = await Promise.all([
    db
      .selectFrom('deliveries')
      .select('next_attempt_at as due')
      .where('status', '=', DELIVERY_STATUS.pending)
      .where('lease_until', 'is', null)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('deliveries')
      .select(
        sql<number | string | null>`min(CASE WHEN lease_until > next_attempt_at
                                        THEN lease_until ELSE next_attempt_at END)`.as('due'),
      )
      .where('lease_until', '>=', 0)
      .executeTakeFirst(),
  ]);
  const due = [unleased?.due, leased?.due].filter((d) => d != null).map(Number);
  return due.length === 0 ? null : Math.min(...due);
}

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
