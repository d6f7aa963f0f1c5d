/**
 * What changed since the baseline run (docs/api.md#what-changed): new failures, fixed, still
 * failing, flaky, new and missing tests, and the deltas. Pure: the store reads both runs and the
 * tests' recent outcomes, this decides.
 */
import type { TestFailure } from './failures.js';
import type { RunChanges } from './payloadSchemas.js';
import { type ResultChange, type ResultStatus, testKey } from './results.js';
import type { FinalRunStatus } from './types.js';

/** Entries each list of `changes` carries. */
export const CHANGE_LIST_LIMIT = 20;
/** A test is flipping when its outcome changed this often … */
export const FLIP_THRESHOLD = 3;
/** … within its last this many runs. */
export const FLIP_WINDOW = 10;
/** Outcomes a test keeps in `recent` (docs/api.md#test-history). */
export const RECENT_LENGTH = 20;

/**
 * One outcome in a test's `recent` text, newest first: `P` passed, `R` passed after a retry within
 * its run, `F` failed, `E` error, `S` skipped.
 */
export type OutcomeChar = 'P' | 'R' | 'F' | 'E' | 'S';

export function outcomeChar(status: ResultStatus, attempts: number): OutcomeChar {
  switch (status) {
    case 'passed':
      return attempts > 1 ? 'R' : 'P';
    case 'failed':
      return 'F';
    case 'error':
      return 'E';
    case 'skipped':
      return 'S';
  }
}

export function charStatus(c: string): ResultStatus {
  return c === 'F' ? 'failed' : c === 'E' ? 'error' : c === 'S' ? 'skipped' : 'passed';
}

const failing = (c: string) => c === 'F' || c === 'E';

/** Changes between passing and failing among the newest `window` outcomes (skipped ones left out). */
export function countFlips(recent: string, window = FLIP_WINDOW): number {
  let flips = 0;
  let last: boolean | null = null;
  for (const c of recent.slice(0, window)) {
    if (c === 'S') continue;
    const f = failing(c);
    if (last !== null && f !== last) flips += 1;
    last = f;
  }
  return flips;
}

export type TestState = 'failing' | 'flaky' | 'passing';

/** A test's state from its recent outcomes: flaky, else failing or passing by its latest run. */
export function testState(recent: string): TestState {
  const window = recent.slice(0, FLIP_WINDOW);
  if (countFlips(recent) >= FLIP_THRESHOLD || window.includes('R')) return 'flaky';
  for (const c of recent) if (c !== 'S') return failing(c) ? 'failing' : 'passing';
  return 'passing';
}

/** `recent` after one more outcome. */
export function pushOutcome(recent: string, c: OutcomeChar): string {
  return (c + recent).slice(0, RECENT_LENGTH);
}

/** One side of the comparison: a finished run. */
export interface ComparedRun {
  /** `TR-` id. */
  testRunId: string;
  status: FinalRunStatus;
  passRate: number;
  durationSeconds: number;
  failingCount: number;
  failures: readonly TestFailure[];
  /** Its scenario results by testKey, or null when it has none. */
  results: ReadonlyMap<string, ComparedResult> | null;
  /** Score percent (results.ts scorePercent), null without scores. */
  score: number | null;
}

export interface ComparedResult {
  name: string;
  suite: string;
  status: ResultStatus;
  attempts: number;
  message: string | null;
  /** The test's outcomes before this run, newest first (current run only; '' when new). */
  recentBefore?: string;
}

export interface ComparisonResult {
  changes: RunChanges;
  /** For each of the current run's results (by testKey): how it compares. */
  perResult: Map<string, ResultChange>;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

interface Named {
  name: string;
  suite: string;
  message: string | null;
}

function failingSet(run: ComparedRun): Map<string, Named> | null {
  const out = new Map<string, Named>();
  if (run.results) {
    for (const [key, r] of run.results) {
      if (r.status === 'failed' || r.status === 'error') out.set(key, r);
    }
    return out;
  }
  // Names unknown: failing tests were counted but none named.
  if (run.failingCount > 0 && run.failures.length === 0) return null;
  for (const f of run.failures) {
    out.set(testKey(f.classname, f.name), { name: f.name, suite: f.classname ?? '', message: f.message });
  }
  return out;
}

/** The run's failure list names every failing test. */
function completeFailures(run: ComparedRun): boolean {
  return run.results !== null || run.failures.length >= run.failingCount;
}

/**
 * Compares a finished run with its baseline. `baseline` null: no changes (null), every result
 * `new`.
 */
export function compareRuns(current: ComparedRun, baseline: ComparedRun | null): ComparisonResult {
  const perResult = new Map<string, ResultChange>();
  if (!baseline) {
    for (const key of current.results?.keys() ?? []) perResult.set(key, 'new');
    return { changes: null, perResult };
  }
  const counts = { new_failures: 0, fixed: 0, still_failing: 0, flaky: 0, new_tests: 0, missing_tests: 0 };
  const newFailures: Array<{ name: string; suite: string | null; message: string | null }> = [];
  const fixed: Array<{ name: string; suite: string | null }> = [];
  const flaky: Array<{ name: string; suite: string | null; reason: 'passed_on_retry' | 'flipping' }> = [];
  const suiteOut = (s: string) => (s === '' ? null : s);

  const nowFailing = failingSet(current);
  const wasFailing = failingSet(baseline);
  const basis: 'results' | 'failures' | 'none' =
    current.results && baseline.results ? 'results' : nowFailing && wasFailing ? 'failures' : 'none';

  if (current.results) {
    for (const [key, r] of current.results) {
      const before = baseline.results?.get(key);
      const isFailing = r.status === 'failed' || r.status === 'error';
      const history = outcomeChar(r.status, r.attempts) + (r.recentBefore ?? '');
      let change: ResultChange;
      if (r.status === 'passed' && r.attempts > 1) {
        change = 'flaky';
        flaky.push({ name: r.name, suite: suiteOut(r.suite), reason: 'passed_on_retry' });
      } else if (r.status !== 'skipped' && countFlips(history) >= FLIP_THRESHOLD) {
        change = 'flaky';
        flaky.push({ name: r.name, suite: suiteOut(r.suite), reason: 'flipping' });
      } else if (basis === 'none') {
        change = 'unchanged';
      } else if (isFailing) {
        change = wasFailing?.has(key) ? 'still_failing' : 'new_failure';
      } else if (wasFailing?.has(key) && r.status === 'passed') {
        change = 'fixed';
      } else if (baseline.results && !before) {
        change = 'new';
      } else {
        change = 'unchanged';
      }
      if (baseline.results && !before) counts.new_tests += 1;
      perResult.set(key, change);
      if (change === 'flaky') counts.flaky += 1;
      else if (change === 'still_failing') counts.still_failing += 1;
      else if (change === 'new_failure') {
        counts.new_failures += 1;
        newFailures.push({ name: r.name, suite: suiteOut(r.suite), message: r.message });
      } else if (change === 'fixed') {
        counts.fixed += 1;
        fixed.push({ name: r.name, suite: suiteOut(r.suite) });
      }
    }
    if (baseline.results) {
      for (const key of baseline.results.keys()) if (!current.results.has(key)) counts.missing_tests += 1;
    }
  } else if (basis === 'failures' && nowFailing && wasFailing) {
    for (const [key, f] of nowFailing) {
      if (wasFailing.has(key)) counts.still_failing += 1;
      else {
        counts.new_failures += 1;
        newFailures.push({ name: f.name, suite: suiteOut(f.suite), message: f.message });
      }
    }
    // Fixed only when the new run's list names all its failing tests: one left off is not fixed.
    if (completeFailures(current)) {
      for (const [key, f] of wasFailing) {
        if (nowFailing.has(key)) continue;
        counts.fixed += 1;
        fixed.push({ name: f.name, suite: suiteOut(f.suite) });
      }
    }
  }

  return {
    perResult,
    changes: {
      baseline_test_run_id: baseline.testRunId,
      basis,
      new_failures: newFailures.slice(0, CHANGE_LIST_LIMIT),
      fixed: fixed.slice(0, CHANGE_LIST_LIMIT),
      flaky: flaky.slice(0, CHANGE_LIST_LIMIT),
      counts,
      pass_rate_delta: round2(current.passRate - baseline.passRate),
      duration_delta_seconds: current.durationSeconds - baseline.durationSeconds,
      score_delta:
        current.score === null || baseline.score === null ? null : round2(current.score - baseline.score),
    },
  };
}

/**
 * The run's status differs from its baseline's, or it broke or fixed a test, or it has no
 * baseline: what `filter.only_changes` lets through (docs/api.md#webhook-filters).
 */
export function isNotable(
  changes: RunChanges,
  status: FinalRunStatus,
  baselineStatus: string | null,
): boolean {
  if (changes === null) return true;
  if (baselineStatus !== null && baselineStatus !== status) return true;
  return changes.counts.new_failures > 0 || changes.counts.fixed > 0;
}

/** One line that opens a chat message: "2 new failures · 1 fixed · pass rate 85 % (−5)". */
export function changeSummary(changes: RunChanges, passRate: number): string | null {
  if (changes === null) return null;
  const c = changes.counts;
  const parts: string[] = [];
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  if (c.new_failures > 0) parts.push(plural(c.new_failures, 'new failure', 'new failures'));
  if (c.fixed > 0) parts.push(`${c.fixed} fixed`);
  if (c.flaky > 0) parts.push(`${c.flaky} flaky`);
  const delta = changes.pass_rate_delta;
  if (parts.length === 0) {
    const still = c.still_failing > 0 ? `: ${c.still_failing} still failing` : '';
    const rate = delta === 0 ? '' : ` · pass rate ${passRate} % (${signed(delta)})`;
    return `No change${still}${rate}`;
  }
  if (c.still_failing > 0) parts.push(`${c.still_failing} still failing`);
  parts.push(`pass rate ${passRate} %${delta === 0 ? '' : ` (${signed(delta)})`}`);
  return parts.join(' · ');
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${Math.abs(n)}` : '±0';
}
