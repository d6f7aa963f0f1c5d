import type { Ctx } from './context.js';

export async function extendLeases(
  { db, hooks }: Ctx,
  workerId: string,
  ids: string[],
  until: number,
): Promise<void> {
  if (ids.length === 0) return;
  await (hooks.workerDb ?? db)
    .updateTable('deliveries')
    .set({ lease_until: until })
    .where('id', 'in', ids)
    .where('lease_owner', '=', workerId)
    .execute();
}

export async function releaseLeases({ db, hooks }: Ctx, workerId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({ lease_owner: null, lease_until: null })
    .where('id', 'in', ids)
    .where('lease_owner', '=', workerId)
    .execute();
  await hooks.notifyNewWork();
}
