import { cutText, FAILURE_LIMITS } from '../domain/failures.js';
import { type JUnitFailure, messageOf, nonEmpty, oneLine, type XmlNode } from './junitFailure.js';

/**
 * Every test case of a JUnit report as one scenario result of the run (docs/api.md, "Scenario
 * results"), with reruns merged into one result that says how many times the test ran. See
 * docs/quickstart.md ("Report JUnit results").
 */

export const RESULT_STATUSES = ['passed', 'failed', 'error', 'skipped'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export const RESULT_LIMITS = {
  /** `name` and `suite` longer than this are cut, ending in `…`. */
  name: 500,
  suite: 500,
  /** `message` longer than this is cut, ending in `…`. */
  message: 4000,
} as const;

/** One test of the run, as `results` on POST /runs and POST /runs/{id}/results take it. */
export interface JUnitResult {
  name: string;
  /** The JUnit `classname`, else the enclosing `<testsuite>`'s name; absent when there is neither. */
  suite?: string;
  status: ResultStatus;
  duration_ms?: number;
  /** The failure's or error's message, for `failed` and `error` only. */
  message?: string;
  /** Runs of this test within the run, sent only when it ran more than once. */
  attempts?: number;
}

/** One `<testcase>` element as read, before reruns are merged. */
export interface CaseRecord {
  name: string;
  suite: string | null;
  status: ResultStatus;
  /** Seconds spent on it, reruns included; null when the file gives no time. */
  seconds: number | null;
  /** Uncut, for `failed` and `error`. */
  message: string | null;
  /** 1, plus one per Surefire-style rerun entry (`flakyFailure`, `rerunError`, …). */
  attempts: number;
  /** Kept for `failures`: the `classname` when it says more than the name, and the file. */
  classname: string | null;
  file: string | null;
  /** The enclosing suite's `hostname`: Playwright writes the project's name there. */
  host: string | null;
}

/**
 * Children Surefire writes for reruns (`rerunFailingTestsCount`), and Playwright's junit reporter
 * with `includeRetries`: `flaky*` for each failed try of a test that passed in the end, `rerun*`
 * for each retry of a test that failed every time (the first try is the `<failure>` itself).
 */
const RERUN_TAGS = ['flakyFailure', 'flakyError', 'rerunFailure', 'rerunError'] as const;

/** Reads one `<testcase>`: failed if it has a `<failure>`, else error, else skipped, else passed. */
export function recordOf(
  testCase: XmlNode,
  suiteName: string | null,
  suiteFile: string | null,
  host: string | null,
): CaseRecord {
  const name = cutText(oneLine(nonEmpty(testCase['@_name']) ?? '(unnamed test case)'), RESULT_LIMITS.name);
  const rawClassname = nonEmpty(testCase['@_classname']);
  // jest-junit repeats the name as the class name by default; that names no suite.
  const classname =
    rawClassname === null || oneLine(rawClassname) === name
      ? null
      : cutText(oneLine(rawClassname), FAILURE_LIMITS.location);
  const suite = classname ?? (suiteName === null ? null : cutText(oneLine(suiteName), RESULT_LIMITS.suite));
  const status: ResultStatus =
    'failure' in testCase
      ? 'failed'
      : 'error' in testCase
        ? 'error'
        : 'skipped' in testCase
          ? 'skipped'
          : 'passed';
  let attempts = 1;
  let seconds = parseSeconds(testCase['@_time']);
  for (const tag of RERUN_TAGS) {
    for (const entry of childrenOf(testCase[tag])) {
      attempts += 1;
      const time = parseSeconds(entry['@_time']);
      if (time !== null) seconds = (seconds ?? 0) + time;
    }
  }
  return {
    name,
    suite,
    status,
    seconds,
    message:
      status === 'failed' || status === 'error'
        ? messageOf(testCase[status === 'failed' ? 'failure' : 'error'])
        : null,
    attempts,
    classname,
    file: mapNullable(nonEmpty(testCase['@_file']) ?? suiteFile, (file) =>
      cutText(file, FAILURE_LIMITS.location),
    ),
    host,
  };
}

/**
 * One result per test: the records of one file are merged when they share `suite` and `name`
 * (pytest-rerunfailures writes a `<testcase>` per try, the last one with the outcome), then the
 * files' results are merged the same way (a rerun step writing its own file). The last record
 * gives the status and message; the time is added up. Within a file the test ran as many times
 * as it has records, or as its rerun entries say when that is more; across files the runs add up.
 * The same test under suites of different `hostname`s in one file (Playwright's projects) is one
 * test per host, its suite suffixed with ` [host]`.
 */
export function mergeRecords(files: CaseRecord[][]): CaseRecord[] {
  const merged = new Map<string, CaseRecord>();
  for (const records of files) {
    for (const record of mergeWithinFile(records)) {
      const key = keyOf(record);
      const before = merged.get(key);
      merged.set(
        key,
        before === undefined
          ? record
          : { ...combine(before, record), attempts: before.attempts + record.attempts },
      );
    }
  }
  return [...merged.values()];
}

function mergeWithinFile(records: CaseRecord[]): CaseRecord[] {
  const hosts = new Map<string, Set<string | null>>();
  for (const record of records) {
    const key = keyOf(record);
    hosts.set(key, (hosts.get(key) ?? new Set()).add(record.host));
  }
  const groups = new Map<string, { record: CaseRecord; count: number; maxAttempts: number }>();
  for (const original of records) {
    const perHost = (hosts.get(keyOf(original))?.size ?? 0) > 1 && original.host !== null;
    const record = perHost
      ? {
          ...original,
          suite: cutText(`${original.suite ?? ''} [${original.host}]`.trim(), RESULT_LIMITS.suite),
        }
      : original;
    const key = keyOf(record);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { record, count: 1, maxAttempts: record.attempts });
    else {
      group.record = combine(group.record, record);
      group.count += 1;
      group.maxAttempts = Math.max(group.maxAttempts, record.attempts);
    }
  }
  return [...groups.values()].map(({ record, count, maxAttempts }) => ({
    ...record,
    attempts: Math.max(count, maxAttempts),
  }));
}

/** The later record's outcome, the time of both. */
function combine(earlier: CaseRecord, later: CaseRecord): CaseRecord {
  return {
    ...later,
    seconds:
      earlier.seconds === null && later.seconds === null
        ? null
        : (earlier.seconds ?? 0) + (later.seconds ?? 0),
  };
}

function keyOf(record: Pick<CaseRecord, 'suite' | 'name'>): string {
  return JSON.stringify([record.suite, record.name]);
}

/** The wire form of a merged record. */
export function resultOf(record: CaseRecord): JUnitResult {
  const result: JUnitResult = { name: record.name, status: record.status };
  if (record.suite !== null) result.suite = record.suite;
  if (record.seconds !== null) result.duration_ms = Math.round(record.seconds * 1000);
  if (record.message !== null) result.message = cutText(record.message, RESULT_LIMITS.message);
  if (record.attempts > 1) result.attempts = record.attempts;
  return result;
}

/** The `failures` entry of a failed or errored record (docs/api.md, "Failures"). */
export function failureFromRecord(record: CaseRecord): JUnitFailure {
  return {
    name: cutText(record.name, FAILURE_LIMITS.name),
    classname: record.classname,
    file: record.file,
    message: mapNullable(record.message, (m) => cutText(m, FAILURE_LIMITS.message)),
    kind: record.status === 'error' ? 'error' : 'failed',
  };
}

/** `1.5`, and the `1,234.5` some Surefire versions write under an English locale. */
export function parseSeconds(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const seconds = Number(value.trim().replace(/,/g, ''));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** A child element that may appear once (an object, or '' when empty) or many times (an array). */
function childrenOf(value: unknown): XmlNode[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) =>
    typeof v === 'object' && v !== null ? (v as XmlNode) : {},
  );
}

function mapNullable<T, U>(value: T | null, f: (value: T) => U): U | null {
  return value === null ? null : f(value);
}
