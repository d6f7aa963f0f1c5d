/**
 * What the store answers about scenario results and tests (docs/api.md#scenario-results); part of
 * the Store interface (store.ts), which re-exports these.
 */
import type { RunId } from '../domain/ids.js';
import type { Criterion, ResultChange, ResultStatus, Score } from '../domain/results.js';
import type { RunStatus } from '../domain/types.js';

/** A scenario result as lists show it (docs/api.md#scenario-results). */
export interface StoredResult {
  id: string;
  runId: RunId;
  /** `TR-` id. */
  testRunId: RunId;
  runStatus: RunStatus;
  testId: string;
  name: string;
  suite: string;
  status: ResultStatus;
  change: ResultChange;
  durationMs: number | null;
  message: string | null;
  attempts: number;
  score: Score | null;
  criteria: Criterion[] | null;
  createdAt: number;
  completedAt: number | null;
}

export interface ScenarioRunFilter {
  status?: ResultStatus;
  passed?: boolean;
  change?: ResultChange;
  /** Part of the test's name or suite, any case. */
  q?: string;
}

/** A test of an agent with its recent outcomes (docs/api.md#test-history). */
export interface AgentTest {
  id: string;
  name: string;
  suite: string;
  recent: string;
  state: string;
  lastStatus: ResultStatus | null;
  lastRunAt: number | null;
  lastFailureMessage: string | null;
}
