/** How a finished run reads in a chat message (Slack, Discord, Teams): one outcome, one wording. */
import type { StandardPayloadTestRun } from './payloads.js';

export type OutcomeKind = 'passed' | 'failed' | 'errors' | 'canceled';

export interface RunOutcome {
  kind: OutcomeKind;
  emoji: string;
  /** A verb phrase: "Nightly failed". */
  words: string;
}

export function runOutcome(
  run: Pick<StandardPayloadTestRun, 'status' | 'failed_count' | 'error_count'>,
): RunOutcome {
  if (run.status === 'canceled') return { kind: 'canceled', emoji: '⚠️', words: 'was canceled' };
  if (run.status === 'failed' || run.failed_count > 0)
    return { kind: 'failed', emoji: '❌', words: 'failed' };
  if (run.error_count > 0) return { kind: 'errors', emoji: '⚠️', words: 'finished with errors' };
  return { kind: 'passed', emoji: '✅', words: 'passed' };
}

/** Failing tests in all: the counts, or the names given when those are more. */
export function failingCount(run: StandardPayloadTestRun): number {
  return Math.max(run.failed_count + run.error_count, run.failures?.length ?? 0);
}
