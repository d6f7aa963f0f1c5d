/** Words for scenario results and what changed since the baseline run (docs/api.md#what-changed). */
import { changeSummary as domainChangeSummary } from '../../src/domain/changes';
import type { RunChanges as DomainChanges } from '../../src/domain/payloadSchemas';
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

/**
 * The line chat messages open with, in the same words (the domain's own function): "2 new failures
 * · 1 fixed · pass rate 85 % (−5)", or "No change: 3 still failing".
 */
export function changeSummary(changes: RunChanges, passRate: number): string {
  return domainChangeSummary(changes as DomainChanges, passRate) ?? '';
}

/** `suite › name`, or the name alone. */
export function testLabel(test: TestRef): string {
  return test.suite ? `${test.suite} › ${test.name}` : test.name;
}

export const FLAKY_REASONS: Record<'passed_on_retry' | 'flipping', string> = {
  passed_on_retry: 'failed, then passed on a retry in this run',
  flipping: 'switched between passing and failing 3 or more times in its last 10 runs',
};
