/**
 * Run groups (docs/delivery.md#run-groups): a run joins its group in the transaction that creates
 * it; the group's one `test_run_group_completed` event is created in the transaction that settles
 * the group's row, either the one that finishes its last run (the size case) or the sweep's (the
 * window case). Every path takes the group row's lock before reading its runs, and settles it only
 * where `completed_at` is still null: one event per group, across API nodes, workers and restarts.
 */

import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { timeOrderedUuid } from '../../domain/ids.js';
import { formatCarries, renderGroupEvent } from '../../domain/payloads.js';
import {
  groupAgent,
  groupCompletedPayload,
  groupCompletion,
  groupIsNotable,
} from '../../domain/runGroups.js';
import { DELIVERY_STATUS, isFinalRunStatus, type TestRun } from '../../domain/types.js';
import { filterMatches } from '../../domain/webhookFilter.js';
import type { RunGroupsTable } from '../schema.js';
import type { Ctx, Db } from './context.js';
import { routesForEvent } from './eventRoutes.js';
import { toRun } from './mappers.js';
import { eventDeliveryRow } from './newRows.js';

/** Groups the sweep settles per call, at most, each in its own transaction. */
const SWEEP_BATCH = 100;

/**
 * A new run joins its group: the group's row is created, or its lock taken and its activity and
 * size brought up to date. In the run's transaction. A group that already completed keeps its
 * `completed_at`: the run joins it late and starts no second event.
 */
export async function joinRunGroup(trx: Db, run: TestRun, now: number): Promise<void> {
  if (!run.group) return;
  const size = run.groupSize ?? null;
  await trx
    .insertInto('run_groups')
    .values({
      org_id: run.orgId,
      name: run.group,
      group_size: size,
      created_at: now,
      last_activity_at: now,
      completed_at: null,
      event_id: null,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'name']).doUpdateSet({
        last_activity_at: now,
        // The largest size any run gave: a shard that knows the whole build's size wins.
        group_size: sql<number | null>`CASE
          WHEN excluded.group_size IS NULL THEN run_groups.group_size
          WHEN run_groups.group_size IS NULL OR excluded.group_size > run_groups.group_size THEN excluded.group_size
          ELSE run_groups.group_size END`,
      }),
    )
    .execute();
}

/**
 * After a run of a group became final in this transaction: takes the group's row lock, notes the
 * activity, and completes the group if this made it complete by its size. True when a delivery
 * was queued.
 */
export async function settleGroupAfterFinish(
  trx: Db,
  run: TestRun,
  publicUrl: string,
  now: number,
): Promise<boolean> {
  if (!run.group) return false;
  const row = await trx
    .updateTable('run_groups')
    .set({ last_activity_at: now })
    .where('org_id', '=', run.orgId)
    .where('name', '=', run.group)
    .where('completed_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  // No open row: the group completed before this run joined (a late run; docs/delivery.md#run-groups).
  if (!row) return false;
  // The window cannot have passed: this run's finish is the group's latest activity.
  return (await completeIfDue(trx, row, now, Number.POSITIVE_INFINITY, publicUrl)).queued;
}

/**
 * Completes the groups that every run has finished and no run joined or finished for the window,
 * each in its own transaction; how many it completed. Run by every `serve` and `worker` process
 * (groupSweep.ts): on PostgreSQL several may look at one group at once, and the row lock and the
 * `completed_at IS NULL` guard let one of them settle it.
 */
export async function completeDueGroups(
  ctx: Ctx,
  input: { now: number; windowMs: number; publicUrl: string },
): Promise<number> {
  const { now, windowMs, publicUrl } = input;
  const quietSince = now - windowMs;
  const due = await ctx.db
    .selectFrom('run_groups as g')
    .select(['g.org_id', 'g.name'])
    .where('g.completed_at', 'is', null)
    .where('g.last_activity_at', '<=', quietSince)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('test_runs as r')
            .select('r.id')
            .whereRef('r.org_id', '=', 'g.org_id')
            .whereRef('r.group_name', '=', 'g.name')
            .where('r.status', 'not in', ['completed', 'failed', 'canceled']),
        ),
      ),
    )
    .orderBy('g.last_activity_at')
    .limit(SWEEP_BATCH)
    .execute();
  let completed = 0;
  let queued = false;
  for (const g of due) {
    const done = await ctx.db.transaction().execute(async (trx): Promise<Settled | null> => {
      // The lock, and the check again under it: a run may have joined or finished since.
      const row = await trx
        .updateTable('run_groups')
        .set((eb) => ({ last_activity_at: eb.ref('last_activity_at') }))
        .where('org_id', '=', g.org_id)
        .where('name', '=', g.name)
        .where('completed_at', 'is', null)
        .where('last_activity_at', '<=', quietSince)
        .returningAll()
        .executeTakeFirst();
      return row ? completeIfDue(trx, row, now, windowMs, publicUrl) : null;
    });
    if (done?.completed) completed++;
    if (done?.queued) queued = true;
  }
  if (queued) await ctx.hooks.notifyNewWork();
  return completed;
}

/** Whether a check completed the group, and whether that queued a delivery. */
interface Settled {
  completed: boolean;
  queued: boolean;
}

/**
 * With the group's row locked: reads its runs and, when the group is complete, settles the row and
 * creates the event and its deliveries.
 */
async function completeIfDue(
  trx: Db,
  group: Selectable<RunGroupsTable>,
  now: number,
  windowMs: number,
  publicUrl: string,
): Promise<Settled> {
  const runs = (
    await trx
      .selectFrom('test_runs')
      .selectAll()
      .where('org_id', '=', group.org_id)
      .where('group_name', '=', group.name)
      .orderBy('seq')
      .execute()
  ).map(toRun);
  const groupSize = group.group_size === null ? null : Number(group.group_size);
  const completedBy = groupCompletion(
    {
      runCount: runs.length,
      openCount: runs.filter((r) => !isFinalRunStatus(r.status)).length,
      groupSize,
      lastActivityAt: Number(group.last_activity_at),
    },
    now,
    windowMs,
  );
  if (completedBy === null) return { completed: false, queued: false };
  const eventId = timeOrderedUuid(now);
  const settled = await trx
    .updateTable('run_groups')
    .set({ completed_at: now, event_id: eventId })
    .where('org_id', '=', group.org_id)
    .where('name', '=', group.name)
    .where('completed_at', 'is', null)
    .executeTakeFirst();
  if (Number(settled.numUpdatedRows) !== 1) return { completed: false, queued: false };

  const payload = groupCompletedPayload({
    name: group.name,
    groupSize,
    completedBy,
    runs,
    eventCreatedAt: now,
    publicUrl,
  });
  const rendered = renderGroupEvent(payload);
  await trx
    .insertInto('events')
    .values({
      id: eventId,
      org_id: group.org_id,
      type: 'test_run_group_completed',
      test_run_id: null,
      payload: rendered.payload,
      created_at: now,
    })
    .execute();
  const routes = await routesForEvent(trx, {
    orgId: group.org_id,
    agentId: groupAgent(runs)?.id ?? null,
    eventType: 'test_run_group_completed',
  });
  const notable = groupIsNotable(payload);
  const deliveries = routes
    .filter(({ webhook }) => formatCarries(webhook.format, 'test_run_group_completed'))
    // A webhook's filter reads the group as it reads a run: its status, pass rate and changes.
    .filter(({ webhook }) =>
      filterMatches(webhook.filter, payload.group.status, payload.group.pass_rate, notable),
    )
    .map((route) =>
      eventDeliveryRow(route, { orgId: group.org_id, eventId, testRunId: null }, rendered, now),
    );
  if (deliveries.length > 0) await trx.insertInto('deliveries').values(deliveries).execute();
  const queued = deliveries.some((d) => d.status === DELIVERY_STATUS.pending);
  return { completed: true, queued };
}
