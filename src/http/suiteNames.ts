import type { TestRun } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { isUuid } from './params.js';

/**
 * The `test_suite_name` of runs (docs/api.md#test-suites): a run's `test_suite_id` is an opaque
 * string, shown with a name when it is the id of one of the organization's suites. One query for a
 * page of runs, none when no run names a suite id (suite ids are UUIDs).
 */
export async function suiteNamesOf(
  store: Store,
  orgId: string,
  runs: readonly TestRun[],
): Promise<(run: TestRun) => string | null> {
  const ids = runs.flatMap((r) => (r.testSuiteId !== null && isUuid(r.testSuiteId) ? [r.testSuiteId] : []));
  if (ids.length === 0) return () => null;
  const names = await store.testSuiteNames(orgId, ids);
  return (run) => (run.testSuiteId === null ? null : (names.get(run.testSuiteId) ?? null));
}

/** The `test_suite_name` of one run. */
export async function suiteNameOf(store: Store, orgId: string, run: TestRun): Promise<string | null> {
  return suiteNameFor(store, orgId, run.testSuiteId);
}

/**
 * The `test_suite_name` a run with this `test_suite_id` shows: read before a run is created or
 * finished, so that the answer kept for an Idempotency-Key replay carries it too.
 */
export async function suiteNameFor(
  store: Store,
  orgId: string,
  testSuiteId: string | null | undefined,
): Promise<string | null> {
  if (testSuiteId == null || !isUuid(testSuiteId)) return null;
  return (await store.testSuiteNames(orgId, [testSuiteId])).get(testSuiteId) ?? null;
}
