/**
 * Scenario results (docs/api.md#scenario-results): every test's outcome in a run, as a caller sends
 * it, checked and normalized. Pure: no I/O.
 */
import { cutText, type TestFailure } from './failures.js';

/** Ordered as lists show them: failing first. The index is the stored code. */
export const RESULT_STATUSES = ['failed', 'error', 'passed', 'skipped'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** How a result compares with the baseline run's (docs/api.md#what-changed). The index is the stored code. */
export const RESULT_CHANGES = ['unchanged', 'new_failure', 'fixed', 'still_failing', 'flaky', 'new'] as const;
export type ResultChange = (typeof RESULT_CHANGES)[number];

export const CRITERION_DECISIONS = ['MET', 'NOT_MET', 'PARTIAL', 'UNSURE'] as const;

export const RESULT_LIMITS = {
  name: 500,
  suite: 500,
  /** `message` longer than this is cut, ending in `…`. */
  message: 4000,
  criteria: 50,
  /** Results one `POST /runs/{id}/results` may carry. */
  perChunk: 1000,
} as const;

export interface Criterion {
  criterion: string;
  decision: (typeof CRITERION_DECISIONS)[number];
  points_awarded?: number | null;
  max_points?: number | null;
  rationale?: string | null;
}

export interface Score {
  points_awarded: number;
  max_points: number;
}

/** One scenario result as a caller sends it. */
export interface ResultInput {
  name: string;
  suite?: string | null;
  status: ResultStatus;
  duration_ms?: number | null;
  message?: string | null;
  attempts?: number | null;
  score?: Score | null;
  criteria?: Criterion[] | null;
}

/** One scenario result as stored: every key present, texts cut, empty texts null. */
export interface ScenarioResult {
  name: string;
  /** '' when none was given (the test's identity is (suite, name)). */
  suite: string;
  status: ResultStatus;
  durationMs: number | null;
  message: string | null;
  attempts: number;
  score: Score | null;
  criteria: Criterion[] | null;
}

export function normalizeResult(input: ResultInput): ScenarioResult {
  const message =
    input.message === undefined || input.message === null || input.message === '' ? null : input.message;
  return {
    name: input.name,
    suite: input.suite ?? '',
    status: input.status,
    durationMs: input.duration_ms ?? null,
    message: message === null ? null : cutText(message, RESULT_LIMITS.message),
    attempts: input.attempts ?? 1,
    score: input.score ?? null,
    criteria: input.criteria && input.criteria.length > 0 ? input.criteria : null,
  };
}

/** The key of a test within its agent. */
export function testKey(suite: string | null, name: string): string {
  return `${suite ?? ''}\u0000${name}`;
}

/** The first test that appears twice, or null. */
export function firstDuplicate(results: readonly ScenarioResult[]): ScenarioResult | null {
  const seen = new Set<string>();
  for (const r of results) {
    const key = testKey(r.suite, r.name);
    if (seen.has(key)) return r;
    seen.add(key);
  }
  return null;
}

/** A test's name as messages show it: `suite › name`, or the name alone. */
export function testLabel(suite: string | null, name: string): string {
  return suite ? `${suite} › ${name}` : name;
}

export interface ResultCounts {
  passed: number;
  failed: number;
  error: number;
  skipped: number;
  /** passed + failed + error: skipped results are not scenarios that ran. */
  total: number;
}

export function countResults(results: Iterable<{ status: ResultStatus }>): ResultCounts {
  const c = { passed: 0, failed: 0, error: 0, skipped: 0, total: 0 };
  for (const r of results) c[r.status] += 1;
  c.total = c.passed + c.failed + c.error;
  return c;
}

/** The run's `failures` (docs/api.md#failures) when the caller gave none: its failing results, errors after failures. */
export function failuresFromResults(results: readonly ScenarioResult[], max: number): TestFailure[] {
  const out: TestFailure[] = [];
  for (const status of ['failed', 'error'] as const) {
    for (const r of results) {
      if (out.length >= max) return out;
      if (r.status !== status) continue;
      out.push({
        name: r.name,
        classname: r.suite === '' ? null : r.suite,
        file: null,
        message: r.message === null ? null : cutText(r.message, 1000),
        kind: status,
      });
    }
  }
  return out;
}

/** Points awarded over max points, × 100, 2 decimals; null when no result has a score. */
export function scorePercent(results: Iterable<{ score: Score | null }>): number | null {
  let awarded = 0;
  let max = 0;
  let any = false;
  for (const r of results) {
    if (!r.score) continue;
    any = true;
    awarded += r.score.points_awarded;
    max += r.score.max_points;
  }
  if (!any || max <= 0) return null;
  return Math.round((awarded / max) * 10000) / 100;
}
