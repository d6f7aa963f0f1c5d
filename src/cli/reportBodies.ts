/**
 * The request bodies of `runhook report` (docs/api.md, "What runhook report sends"): one finished
 * run with its results, or a run created, its results in chunks, and its completion.
 */
import { createHash } from 'node:crypto';
import { cutText, FAILURE_LIMITS } from '../domain/failures.js';
import { LIMITS } from '../domain/validateWebhook.js';
import type { JUnitResult, JUnitSummary } from './junit.js';
import { oneLine } from './junitFailure.js';

/** A run's name is at most 200 characters; longer ones from a suite are shortened, not refused. */
export const RUN_NAME_MAX = LIMITS.name;
export const DEFAULT_RUN_NAME = 'JUnit report';
/**
 * Results one request carries. Up to this many go in the one POST /runs that creates the run
 * finished; more are sent in chunks of this size to POST /runs/{id}/results between creating the
 * run and completing it.
 */
export const RESULTS_PER_REQUEST = 1000;
/**
 * Bytes of JSON one request may carry: the server takes at most 1 MiB (docs/api.md). A thousand
 * results with long messages are more, so a chunk also ends before it would pass this, and a
 * one-call body that would pass it is sent in chunks instead.
 */
export const REQUEST_BYTES_MAX = 1_000_000;

export const IDEMPOTENCY_KEY_MAX = 255;

/**
 * The results in order, cut into chunks of at most RESULTS_PER_REQUEST results and
 * REQUEST_BYTES_MAX bytes of `{"results": [...]}` each. The same results always give the same
 * chunks, so a retried CI step repeats each request as it was.
 */
export function chunkResults(results: JUnitResult[], maxBytes = REQUEST_BYTES_MAX): JUnitResult[][] {
  const empty = Buffer.byteLength(JSON.stringify({ results: [] }));
  const chunks: JUnitResult[][] = [];
  let chunk: JUnitResult[] = [];
  let bytes = empty;
  for (const result of results) {
    const size = Buffer.byteLength(JSON.stringify(result)) + 1;
    if (chunk.length > 0 && (chunk.length === RESULTS_PER_REQUEST || bytes + size > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = empty;
    }
    chunk.push(result);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * The key of one request of a run sent in chunks: `<key>:create`, `<key>:results:<n>` (n from 1),
 * `<key>:complete`, so a retried CI step repeats each request with its own key. A key too long to
 * take a suffix is replaced by a hash of it first.
 */
export function partKey(key: string, part: string): string {
  const suffixed = `${key}:${part}`;
  if (suffixed.length <= IDEMPOTENCY_KEY_MAX) return suffixed;
  return `runhook-report-${createHash('sha256').update(key).digest('hex')}:${part}`;
}

/** The run's final status and counts, as the results give them. */
function outcomeOf(summary: JUnitSummary): Record<string, unknown> {
  const failed = summary.failed > 0 || summary.errored > 0;
  const outcome: Record<string, unknown> = {
    status: failed ? 'failed' : 'completed',
    passed_count: summary.passed,
    failed_count: summary.failed,
    error_count: summary.errored,
    total_scenarios: summary.passed + summary.failed + summary.errored,
  };
  if (summary.failures.length > 0) outcome.failures = summary.failures.slice(0, FAILURE_LIMITS.perRun);
  return outcome;
}

/** The run group a report joins (docs/delivery.md#run-groups): `--group` and `--group-size`. */
export interface ReportGroup {
  name: string;
  size?: number;
}

/** What every POST /runs of a report carries: agent, name, suite id, group and start. */
function runHead(
  agentId: string,
  summary: JUnitSummary,
  name?: string,
  suiteId?: string,
  group?: ReportGroup,
): Record<string, unknown> {
  const runName = oneLine(name ?? '') || oneLine(summary.name ?? '') || DEFAULT_RUN_NAME;
  const head: Record<string, unknown> = { agent_id: agentId, name: cutText(runName, RUN_NAME_MAX) };
  if (suiteId !== undefined) head.test_suite_id = suiteId;
  if (group !== undefined) head.group = group.name;
  if (group?.size !== undefined) head.group_size = group.size;
  return head;
}

/**
 * The one POST /runs body of a report of up to RESULTS_PER_REQUEST results (and
 * REQUEST_BYTES_MAX bytes): a finished run with
 * its results, the counts they make, the failing ones as `failures` (for servers and receivers
 * that read those) and the run's span.
 */
export function runBody(
  agentId: string,
  summary: JUnitSummary,
  name?: string,
  suiteId?: string,
  group?: ReportGroup,
): Record<string, unknown> {
  const { failures, ...outcome } = outcomeOf(summary);
  const body: Record<string, unknown> = {
    ...runHead(agentId, summary, name, suiteId, group),
    ...outcome,
    started_at: summary.startedAt,
    completed_at: summary.completedAt,
  };
  if (failures !== undefined) body.failures = failures;
  if (summary.results.length > 0) body.results = summary.results;
  return body;
}

/**
 * The requests of a report of more results than one request takes: POST /runs (running, no
 * results), the results in chunks (chunkResults), then POST /runs/{id}/complete with the status, the counts the
 * results make and the failures.
 */
export function chunkedBodies(
  agentId: string,
  summary: JUnitSummary,
  name?: string,
  suiteId?: string,
  group?: ReportGroup,
): { create: Record<string, unknown>; chunks: Record<string, unknown>[]; complete: Record<string, unknown> } {
  const chunks = chunkResults(summary.results).map((results) => ({ results }));
  return {
    create: { ...runHead(agentId, summary, name, suiteId, group), started_at: summary.startedAt },
    chunks,
    complete: { ...outcomeOf(summary), completed_at: summary.completedAt },
  };
}
