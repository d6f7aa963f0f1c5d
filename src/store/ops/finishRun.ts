/**
 * A run's finish (docs/architecture.md#one-transaction-for-run-event-and-delivery): the run made
 * final, compared with its baseline, and its events and deliveries written, in one transaction. A
 * finished run without results, named baseline, group or `Idempotency-Key` is first tried at once
 * (finishedRunAtOnce.ts) and comes here only when that finds something changed.
 *
 * Used by other ops: nothing; the Store binds `createFinishedRun` and `finishRun`.
 */
import { randomUUID } from 'node:crypto';
import { RUN_STATUS, type TestRun } from '../../domain/types.js';
import { type IdempotentAnswer, InvalidStateError, type RunFinish, type RunInput } from '../store.js';
import { maxResultsOf, settleFinishedRun } from './compareWithBaseline.js';
import type { Ctx } from './context.js';
import { insertFinishEvents } from './finishEvents.js';
import { createFinishedRunAtOnce } from './finishedRunAtOnce.js';
import { keepAnswerIn } from './idempotency.js';
import { toRun } from './mappers.js';
import { joinRunGroup } from './runGroups.js';
import { agentOf, insertRun } from './runs.js';
import { insertResults } from './scenarioResults.js';

export async function createFinishedRun(
  ctx: Ctx,
  orgId: string,
  input: Omit<RunInput, 'status'>,
  finish: RunFinish,
  publicUrl: string,
  now: number,
  answer?: IdempotentAnswer<TestRun>,
): Promise<TestRun> {
  // Results to store, a baseline the caller named, or a keyed request (its answer is kept in the
  // run's transaction, docs/api.md#idempotency): the interactive path, which compares in the
  // transaction. Otherwise the one-unit path, which compares by failure names.
  const simple =
    !answer &&
    !(finish.results && finish.results.length > 0) &&
    !input.baselineRunId &&
    !finish.baselineRunId &&
    // A run of a group settles its group in its transaction (docs/delivery.md#run-groups).
    !input.group;
  const fast = simple ? await createFinishedRunAtOnce(ctx, orgId, input, finish, publicUrl, now) : null;
  if (fast) {
    if (fast.queued && fast.tell !== 'none') await ctx.hooks.notifyNewWork({ local: fast.tell === 'all' });
    return fast.run;
  }
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    const agent = await agentOf(trx, orgId, input.agentId);
    const id = randomUUID();
    // The results first, before the organization's row lock that numbering the run takes: runs
    // that finish at once store theirs side by side on PostgreSQL (docs/architecture.md#results).
    const sent = finish.results ?? [];
    const stored =
      sent.length > 0
        ? await insertResults(ctx, trx, { id, orgId, agentId: agent.id }, sent, maxResultsOf(finish), now)
        : undefined;
    const created = await insertRun(trx, orgId, input, finish.status, finish, now, { id, agent });
    await joinRunGroup(trx, created, now);
    const settled = await settleFinishedRun(ctx, trx, created, finish, now, stored);
    queued = await insertFinishEvents(ctx, trx, settled, publicUrl, now);
    await keepAnswerIn(trx, answer, settled.run);
    return settled.run;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}

export async function finishRun(
  ctx: Ctx,
  orgId: string,
  id: string,
  finish: RunFinish,
  publicUrl: string,
  now: number,
  answer?: IdempotentAnswer<TestRun>,
): Promise<TestRun> {
  let queued = false;
  const run = await ctx.db.transaction().execute(async (trx) => {
    // The status guard makes the transition atomic: of two concurrent finishes, one updates a row.
    const row = await trx
      .updateTable('test_runs')
      .set((eb) => ({
        status: finish.status,
        passed_count: finish.passedCount,
        failed_count: finish.failedCount,
        error_count: finish.errorCount,
        total_scenarios: finish.totalScenarios ?? eb.ref('total_scenarios'),
        completed_at: finish.completedAt,
        ...(finish.failures !== undefined && { failures: JSON.stringify(finish.failures) }),
        updated_at: now,
      }))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('status', 'in', [RUN_STATUS.pending, RUN_STATUS.running, RUN_STATUS.grading])
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new InvalidStateError('the test run has already finished');
    const settled = await settleFinishedRun(ctx, trx, toRun(row), finish, now);
    queued = await insertFinishEvents(ctx, trx, settled, publicUrl, now);
    await keepAnswerIn(trx, answer, settled.run);
    return settled.run;
  });
  if (queued) await ctx.hooks.notifyNewWork();
  return run;
}
