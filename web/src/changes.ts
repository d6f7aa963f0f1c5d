/** Words for scenario results and what changed since the baseline run (docs/api.md#what-changed). */
import type { ResultChange, ResultStatus, RunChanges, TestRef, TestState } from './types';

export const CHANGE_LABELS: Record<ResultChange, string> = {
  new_failure: 'new failure',
  fixed: 'fixed',
  still_failing: 'still failing',
  flaky: 'flaky',
  new: 'new test',
  unchanged: 'unchanged',
};

export const CHANGE_TONES: Record<ResultChange, string> = {
  new_failure: 'bad',
  fixed: 'ok',
  still_failing: 'warn',
  flaky: 'warn',
  new: 'info',
  unchanged: 'neutral',
};

export const STATUS_TONES: Record<ResultStatus, string> = {
  failed: 'bad',
  error: 'warn',
  passed: 'ok',
  skipped: 'neutral',
};

export const STATE_TONES: Record<TestState, string> = {
  failing: 'bad',
  flaky: 'warn',
  passing: 'ok',
};

/** `+5`, `−5` (a real minus sign), `±0`. */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${Math.abs(n)}` : '±0';
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * The line chat messages open with, in the same words: "2 new failures · 1 fixed · pass rate
 * 85 % (−5)", or "No change: 3 still failing".
 */
export function changeSummary(changes: RunChanges, passRate: number): string {
  const c = changes.counts;
  const parts: string[] = [];
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

/** `suite › name`, or the name alone. */
export function testLabel(test: TestRef): string {
  return test.suite ? `${test.suite} › ${test.name}` : test.name;
}

export const FLAKY_REASONS: Record<'passed_on_retry' | 'flipping', string> = {
  passed_on_retry: 'failed, then passed on a retry in this run',
  flipping: 'switched between passing and failing 3 or more times in its last 10 runs',
};
