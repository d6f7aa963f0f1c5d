import { RUN_STATUS, type TestRun } from '../../domain/types.js';
import { InvalidStateError } from '../store.js';
import type { Ctx } from './context.js';
import { toRun } from './mappers.js';

/**
 * A run that is not final moves to `grading` (docs/api.md#run-status): its scenarios have run and
 * the results are being graded. No event: events are for runs that end. Moving a grading run to
 * grading again changes nothing and answers the run.
 */
export async function markRunGrading(
  ctx: Ctx,
  orgId: string,
  id: string,
  now: number,
): Promise<TestRun | null> {
  const { db } = ctx;
  const row = await db
    .updateTable('test_runs')
    .set({ status: RUN_STATUS.grading, updated_at: now })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', 'in', [RUN_STATUS.pending, RUN_STATUS.running])
    .returningAll()
    .executeTakeFirst();
  if (row) return toRun(row);
  const current = await db
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!current) return null;
  if (current.status === RUN_STATUS.grading) return toRun(current);
  throw new InvalidStateError(`the test run is already ${current.status}`);
}
