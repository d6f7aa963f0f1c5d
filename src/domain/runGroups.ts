/**
 * Run groups (docs/delivery.md#run-groups): when a group is complete, and the
 * `test_run_group_completed` payload summing its runs. Pure: the store passes the runs and `now`.
 */
import type { PayloadGroup, RunChanges, TestRunGroupCompletedEvent } from './payloadSchemas.js';
import { GROUP_LIMITS } from './payloadSchemas.js';
import { durationSeconds, effectiveTotal, formatRunId, passRate } from './runMath.js';
import { toIso } from './time.js';
import { type FinalRunStatus, isFinalRunStatus, RUN_STATUS, type TestRun } from './types.js';

export type GroupCompletion = 'group_size' | 'window';

/** What the store knows of an open group when it checks it. */
export interface GroupState {
  /** Runs that joined. */
  runCount: number;
  /** Runs not final yet. */
  openCount: number;
  /** The largest size its runs gave; null: none gave one. */
  groupSize: number | null;
  /** When a run last joined or finished. */
  lastActivityAt: number;
}

/**
 * Whether a group is complete, and why: every run final and either `group_size` runs joined, or
 * none joined or finished for the window. Null while it is not.
 */
export function groupCompletion(g: GroupState, now: number, windowMs: number): GroupCompletion | null {
  if (g.runCount === 0 || g.openCount > 0) return null;
  if (g.groupSize !== null && g.runCount >= g.groupSize) return 'group_size';
  if (now - g.lastActivityAt >= windowMs) return 'window';
  return null;
}

/** The runs' agent when they all share one, else null (the event goes to org-level webhooks). */
export function groupAgent(runs: readonly TestRun[]): { id: string; name: string } | null {
  const first = runs[0];
  if (!first || runs.some((r) => r.agentId !== first.agentId)) return null;
  return { id: first.agentId, name: first.agentName };
}

function groupStatus(runs: readonly TestRun[]): FinalRunStatus {
  if (runs.some((r) => r.status === RUN_STATUS.failed)) return RUN_STATUS.failed;
  if (runs.some((r) => r.status === RUN_STATUS.canceled)) return RUN_STATUS.canceled;
  return RUN_STATUS.completed;
}

function resultsUrl(publicUrl: string, runId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/runs/${runId}`;
}

/** Each run's changes summed: counts added, lists concatenated in run order, cut at the limit. */
export function sumChanges(runs: readonly TestRun[]): PayloadGroup['changes'] {
  const compared = runs.filter((r): r is TestRun & { changes: NonNullable<RunChanges> } => !!r.changes);
  if (compared.length === 0) return null;
  const counts = { new_failures: 0, fixed: 0, still_failing: 0, flaky: 0, new_tests: 0, missing_tests: 0 };
  const out: NonNullable<PayloadGroup['changes']> = {
    runs_compared: compared.length,
    counts,
    new_failures: [],
    fixed: [],
    flaky: [],
  };
  const cap = GROUP_LIMITS.changes;
  for (const run of compared) {
    const c = run.changes;
    const test_run_id = formatRunId(run.seq);
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += c.counts[k];
    for (const f of c.new_failures)
      if (out.new_failures.length < cap) out.new_failures.push({ ...f, test_run_id });
    for (const f of c.fixed) if (out.fixed.length < cap) out.fixed.push({ ...f, test_run_id });
    for (const f of c.flaky) if (out.flaky.length < cap) out.flaky.push({ ...f, test_run_id });
  }
  return out;
}

/**
 * The `test_run_group_completed` payload of a complete group. `runs` are all its runs, final, in
 * the order they were created; `eventCreatedAt` becomes `timestamp`.
 */
export function groupCompletedPayload(input: {
  name: string;
  groupSize: number | null;
  completedBy: GroupCompletion;
  runs: readonly TestRun[];
  eventCreatedAt: number;
  publicUrl: string;
}): TestRunGroupCompletedEvent {
  const { runs } = input;
  if (runs.length === 0) throw new Error(`run group ${input.name} has no runs; it has no payload`);
  let passed = 0;
  let failed = 0;
  let errored = 0;
  let total = 0;
  let startedAt = Number.POSITIVE_INFINITY;
  let completedAt = 0;
  const listed: PayloadGroup['runs'] = [];
  for (const r of runs) {
    if (!isFinalRunStatus(r.status) || r.completedAt === null) {
      // A group completes only when every run is final; reaching here is a caller bug.
      throw new Error(`run ${r.id} of group ${input.name} is not finished (status ${r.status})`);
    }
    const runTotal = effectiveTotal(r.passedCount, r.failedCount, r.errorCount, r.totalScenarios);
    passed += r.passedCount;
    failed += r.failedCount;
    errored += r.errorCount;
    total += runTotal;
    startedAt = Math.min(startedAt, r.startedAt);
    completedAt = Math.max(completedAt, r.completedAt);
    if (listed.length < GROUP_LIMITS.runs) {
      listed.push({
        id: r.id,
        test_run_id: formatRunId(r.seq),
        name: r.name,
        agent_id: r.agentId,
        status: r.status,
        pass_rate: passRate(r.passedCount, runTotal),
        passed_count: r.passedCount,
        failed_count: r.failedCount,
        error_count: r.errorCount,
        total_scenarios: runTotal,
        results_url: resultsUrl(input.publicUrl, r.id),
      });
    }
  }
  const agent = groupAgent(runs);
  return {
    event: 'test_run_group_completed',
    timestamp: toIso(input.eventCreatedAt),
    group: {
      name: input.name,
      group_size: input.groupSize,
      completed_by: input.completedBy,
      agent_id: agent?.id ?? null,
      agent_name: agent?.name ?? null,
      status: groupStatus(runs),
      run_count: runs.length,
      pass_rate: passRate(passed, total),
      passed_count: passed,
      failed_count: failed,
      error_count: errored,
      total_scenarios: total,
      started_at: toIso(startedAt),
      completed_at: toIso(completedAt),
      duration_seconds: durationSeconds(startedAt, completedAt),
      runs: listed,
      changes: sumChanges(runs),
    },
  };
}

/** Whether a group is worth a delivery to a webhook with `filter.only_changes`: see runs' rule. */
export function groupIsNotable(payload: TestRunGroupCompletedEvent): boolean {
  const c = payload.group.changes;
  return (
    c === null || c.counts.new_failures > 0 || c.counts.fixed > 0 || c.runs_compared < payload.group.run_count
  );
}

/** Where a chat message's button points: the first run that did not pass, else the first run. */
export function groupLink(group: PayloadGroup): string {
  const run = group.runs.find((r) => r.status !== 'completed' || r.failed_count + r.error_count > 0);
  return (run ?? group.runs[0])?.results_url ?? '';
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const SAMPLE_PUBLIC_URL = 'https://runhook.example.com';

/**
 * What Test Webhook sends for `test_run_group_completed`: the sample group with `is_test: true`
 * right after `event`, as every other type's sample has it, so a receiver can tell it from a real one.
 */
export function groupTestSample(now: number, publicUrl: string): TestRunGroupCompletedEvent {
  const { event, ...rest } = sampleGroupCompleted(now, publicUrl);
  return { event, is_test: true, ...rest };
}

/**
 * A sample `test_run_group_completed` payload (the docs' examples; Test Webhook's with `is_test`):
 * a CI build of three shards of one agent, one of which failed; ids are zeros but for the runs' last digit.
 */
export function sampleGroupCompleted(now: number, publicUrl = SAMPLE_PUBLIC_URL): TestRunGroupCompletedEvent {
  const shard = (n: number, passed: number, failed: number): TestRun => ({
    id: `00000000-0000-0000-0000-00000000000${n}`,
    orgId: ZERO_UUID,
    seq: n,
    name: `Checkout suite (shard ${n}/3)`,
    agentId: ZERO_UUID,
    agentName: 'Sample agent',
    status: failed > 0 ? 'failed' : 'completed',
    passedCount: passed,
    failedCount: failed,
    errorCount: 0,
    totalScenarios: passed + failed,
    startedAt: now - 240_000,
    completedAt: now - 60_000 + n * 10_000,
    createdAt: now - 240_000,
    failures: [],
    testSuiteId: null,
    testMode: null,
    maxScenarios: null,
    maxTurns: null,
    changes:
      failed > 0
        ? {
            baseline_test_run_id: 'TR-00000',
            basis: 'results',
            new_failures: [
              {
                name: 'applies a discount code',
                suite: 'checkout.discounts',
                message: 'expected 90.00, got 100.00',
              },
            ],
            fixed: [],
            flaky: [],
            counts: { new_failures: 1, fixed: 0, still_failing: 0, flaky: 0, new_tests: 0, missing_tests: 0 },
            pass_rate_delta: -5,
            duration_delta_seconds: 3,
            score_delta: null,
          }
        : null,
  });
  return groupCompletedPayload({
    name: 'ci-build-4711',
    groupSize: 3,
    completedBy: 'group_size',
    runs: [shard(1, 20, 0), shard(2, 19, 1), shard(3, 20, 0)],
    eventCreatedAt: now,
    publicUrl,
  });
}
