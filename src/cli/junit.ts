import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { type JUnitFailure, nonEmpty, type XmlNode } from './junitFailure.js';
import {
  type CaseRecord,
  failureFromRecord,
  type JUnitResult,
  mergeRecords,
  parseSeconds,
  recordOf,
  resultOf,
} from './junitResults.js';

export type { JUnitFailure } from './junitFailure.js';
export type { JUnitResult } from './junitResults.js';

/**
 * What `runhook report` takes from JUnit XML files: every test as a result, their counts, the
 * failing ones, a name and the time span of the run. See docs/quickstart.md ("Report JUnit results").
 */
export interface JUnitSummary {
  /** Counts of `results` by status (`errored` counts `error`). */
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /** Every test, skipped ones included: the length of `results`. */
  total: number;
  /** A name for the run taken from the files, or null when they give none worth using. */
  name: string | null;
  /** One per test, in the order first seen, reruns merged (see junitResults.ts). */
  results: JUnitResult[];
  /** Every failed or errored test, in the same order. */
  failures: JUnitFailure[];
  /** Seconds from `startedAt` to `completedAt`: the wall clock of the whole run. */
  durationSeconds: number;
  /** Start of the run, UTC ISO-8601 with milliseconds: the earliest suite `timestamp`, else end − duration. */
  startedAt: string;
  /** End of the run: start + duration per file, the latest of them; without a timestamp, the file's modification time. */
  completedAt: string;
  /** True when `startedAt` comes from a suite `timestamp` rather than a file's modification time. */
  timestamped: boolean;
}

export class JUnitParseError extends Error {
  override name = 'JUnitParseError';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  // Decode numeric character references too (`&#10;` in pytest messages, `&#xA;` in gotestsum's).
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Suites and test cases can appear once or many times; always get arrays.
  isArray: (tagName, _path, _isLeaf, isAttribute) =>
    !isAttribute && (tagName === 'testsuite' || tagName === 'testcase'),
});

/**
 * Suite names that runners write when the user gave none: pytest's default `pytest`, jest-junit's
 * `undefined` for a file without `describe`, and roots such as `pytest tests` or `jest tests`.
 */
const PLACEHOLDER_SUITE = /^(?:pytest|undefined|null|root|default suite)$/i;
const PLACEHOLDER_ROOT = /^(?:[\w.-]+ tests|undefined|null|root|all tests|default suite)$/i;

interface FileFacts {
  durationSeconds: number;
  /** Earliest suite timestamp in the file, epoch ms, or null. */
  earliest: number | null;
  modifiedAt: number;
}

/**
 * Reads JUnit XML files and turns their test cases one by one into results, reruns merged into
 * one result per test (junitResults.ts), and counts those (suite attributes such as `tests="…"`
 * disagree between runners, so they are not trusted). A test case is failed if it has a
 * `<failure>`, else error if it has an `<error>`, else skipped if it has a `<skipped>`, else
 * passed. Works with a `<testsuites>` root or a bare `<testsuite>`, and with suites nested to
 * any depth.
 */
export async function parseJUnitFiles(paths: string[]): Promise<JUnitSummary> {
  const recordsPerFile: CaseRecord[][] = [];
  const suiteNames: string[] = [];
  const rootNames: string[] = [];
  const files: FileFacts[] = [];

  for (const path of paths) {
    const { xml, modifiedAt } = await readXml(path);
    const root = parseRoot(path, xml);
    if (root.kind === 'testsuites') {
      const rootName = nonEmpty(root.node['@_name']);
      if (rootName !== null) rootNames.push(rootName);
    }
    for (const suite of root.suites) {
      const suiteName = nonEmpty(suite['@_name']);
      if (suiteName !== null) suiteNames.push(suiteName);
    }
    let earliest: number | null = null;
    const container = root.kind === 'testsuites' ? root.node : { testsuite: root.suites };
    const records: CaseRecord[] = [];
    walk(container, { name: null, file: null, host: null }, records, (timestamp) => {
      if (earliest === null || timestamp < earliest) earliest = timestamp;
    });
    if (root.kind === 'testsuites') records.push(...unlistedErrors(root.node, records, path));
    recordsPerFile.push(records);
    files.push({ durationSeconds: timeOf(container), earliest, modifiedAt });
  }

  // Each file covers [start, start + time]: start from its earliest suite timestamp, else it
  // ended when it was written. The run covers all of them, from the earliest start to the latest
  // end: the wall clock, whether the files were shards run side by side or steps run one after
  // the other.
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const file of files) {
    const ms = Math.round(file.durationSeconds * 1000);
    const fileStart = file.earliest ?? file.modifiedAt - ms;
    start = Math.min(start, fileStart);
    end = Math.max(end, fileStart + ms);
  }
  if (files.length === 0) start = end = Date.now();

  const merged = mergeRecords(recordsPerFile);
  const count = (status: CaseRecord['status']) => merged.filter((r) => r.status === status).length;
  return {
    passed: count('passed'),
    failed: count('failed'),
    errored: count('error'),
    skipped: count('skipped'),
    total: merged.length,
    name:
      suiteNames.find((n) => !PLACEHOLDER_SUITE.test(n)) ??
      rootNames.find((n) => !PLACEHOLDER_ROOT.test(n)) ??
      null,
    results: merged.map(resultOf),
    failures: merged.filter((r) => r.status === 'failed' || r.status === 'error').map(failureFromRecord),
    durationSeconds: (end - start) / 1000,
    startedAt: new Date(start).toISOString(),
    completedAt: new Date(end).toISOString(),
    timestamped: files.some((file) => file.earliest !== null),
  };
}

async function readXml(path: string): Promise<{ xml: string; modifiedAt: number }> {
  try {
    const [xml, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { xml, modifiedAt: Math.floor(info.mtimeMs) };
  } catch (error) {
    throw new JUnitParseError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function parseRoot(
  path: string,
  xml: string,
): { kind: 'testsuites' | 'testsuite'; node: XmlNode; suites: XmlNode[] } {
  // The parser itself is lenient with broken XML; validate first so a truncated file (a runner
  // killed mid-write) is refused instead of silently under-counted.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const where = typeof col === 'number' ? `line ${line}, column ${col}` : `line ${line}`;
    throw new JUnitParseError(`${path} is not well-formed XML (${where}): ${msg}`);
  }
  let document: XmlNode;
  try {
    document = parser.parse(xml) as XmlNode;
  } catch (error) {
    // What the validator lets through and the parser refuses, e.g. a DOCTYPE with external entities.
    throw new JUnitParseError(`${path} cannot be read as JUnit XML: ${(error as Error).message}`);
  }
  if ('testsuites' in document) {
    const node = asNode(document.testsuites);
    return { kind: 'testsuites', node, suites: asNodes(node.testsuite) };
  }
  if ('testsuite' in document) {
    const suites = asNodes(document.testsuite);
    return { kind: 'testsuite', node: suites[0] ?? {}, suites };
  }
  throw new JUnitParseError(
    `${path} is not a JUnit report: its root is neither <testsuites> nor <testsuite>`,
  );
}

/**
 * Errors a `<testsuites errors="N">` root counts beyond its test cases: gotestsum writes a Go
 * package that does not compile only there, with no test case. Left out, a build failure would
 * report a green run, so each becomes one errored result. (Other count attributes are not
 * trusted: the test cases are counted instead; an error nobody listed is the exception.)
 */
function unlistedErrors(root: XmlNode, records: CaseRecord[], path: string): CaseRecord[] {
  const declared = Number(root['@_errors']);
  const listed = records.filter((r) => r.status === 'error').length;
  if (!Number.isInteger(declared) || declared <= listed) return [];
  const unlisted = declared - listed;
  const file = basename(path);
  return Array.from({ length: unlisted }, (_, i) => ({
    name:
      unlisted === 1
        ? 'an error outside any test case'
        : `error ${i + 1} of ${unlisted} outside any test case`,
    suite: file,
    status: 'error' as const,
    seconds: null,
    message: `The report counts errors="${declared}" but lists ${listed}: the runner failed outside the tests (e.g. a Go package that does not compile).`,
    attempts: 1,
    classname: null,
    file,
    host: null,
  }));
}

interface Enclosing {
  name: string | null;
  file: string | null;
  host: string | null;
}

function walk(
  node: XmlNode,
  suite: Enclosing,
  records: CaseRecord[],
  onTimestamp: (epochMs: number) => void,
): void {
  for (const testCase of asNodes(node.testcase)) {
    records.push(recordOf(testCase, suite.name, suite.file, suite.host));
  }
  for (const child of asNodes(node.testsuite)) {
    const timestamp = parseTimestamp(child['@_timestamp']);
    if (timestamp !== null) onTimestamp(timestamp);
    walk(
      child,
      {
        name: nonEmpty(child['@_name']) ?? suite.name,
        file: nonEmpty(child['@_file']) ?? suite.file,
        host: nonEmpty(child['@_hostname']) ?? suite.host,
      },
      records,
      onTimestamp,
    );
  }
}

/**
 * Seconds a node took: its own `time` when it has one, else its suites' and test cases' added
 * up. A `<testsuites>` root's `time` is the runner's wall clock (jest, vitest, Playwright), which
 * is what a person waited for, so it wins over the sum of its parts.
 */
function timeOf(node: XmlNode): number {
  const own = parseSeconds(node['@_time']);
  if (own !== null) return own;
  let sum = 0;
  for (const suite of asNodes(node.testsuite)) sum += timeOf(suite);
  for (const testCase of asNodes(node.testcase)) sum += parseSeconds(testCase['@_time']) ?? 0;
  return sum;
}

/** An empty element (`<testsuites/>`) parses as '', a repeated one as an array. */
function asNode(value: unknown): XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as XmlNode) : {};
}

function asNodes(value: unknown): XmlNode[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(asNode);
}

/**
 * JUnit timestamps come with an offset (pytest, vitest, Playwright, Go) or without one (Ant,
 * Maven, Jenkins, jest-junit), in which case they are the local time of the machine that ran the
 * tests; we read them as local time here, which is right when `runhook report` runs on that
 * machine, as it does in CI.
 */
function parseTimestamp(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const epochMs = new Date(value.trim()).getTime();
  return Number.isNaN(epochMs) ? null : epochMs;
}
