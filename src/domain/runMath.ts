/** Arithmetic of a test run's numbers, shared by the API, payloads and dashboard (docs/payloads.md). */

/** `total_scenarios`: the caller's value when given, else passed + failed + errored. */
export function effectiveTotal(
  passed: number,
  failed: number,
  errored: number,
  given: number | null,
): number {
  return given ?? passed + failed + errored;
}

/** passed / total × 100, rounded to 2 decimals; 0 when total is 0. */
export function passRate(passed: number, total: number): number {
  if (total <= 0) return 0;
  // Multiply before dividing so integer counts give an exact numerator (2/3 → 66.67).
  return Math.round((passed * 10_000) / total) / 100;
}

/** Whole seconds from start to completion, floored, never negative. */
export function durationSeconds(startedAtMs: number, completedAtMs: number): number {
  return Math.max(0, Math.floor((completedAtMs - startedAtMs) / 1000));
}

const RUN_ID = /^TR-(\d{5,})$/;

/** `TR-00042`: the human id of a test run, 5 digits zero-padded, more when needed. */
export function formatRunId(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`test run sequence number must be a non-negative integer, got ${seq}`);
  }
  return `TR-${String(seq).padStart(5, '0')}`;
}

/**
 * Inverse of formatRunId: the sequence number, or null when the text is not exactly the form
 * formatRunId produces (so `TR-42` and `TR-000042` are null: one run, one spelling).
 */
export function parseRunId(text: string): number | null {
  const m = RUN_ID.exec(text);
  if (m === null) return null;
  const seq = Number(m[1]);
  if (!Number.isSafeInteger(seq) || formatRunId(seq) !== text) return null;
  return seq;
}
