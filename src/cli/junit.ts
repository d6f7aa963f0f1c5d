import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { failureOf, type JUnitFailure, nonEmpty, type XmlNode } from './junitFailure.js';

export type { JUnitFailure } from './junitFailure.js';

/**
 * What `runhook report` takes from JUnit XML files: counts of test cases, the failing ones, a
 * name and the time span of the run. See docs/quickstart.md ("Report JUnit results").
 */
export interface JUnitSummary {
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /** Every `<testcase>`, skipped ones included. */
  total: number;
  /** A name for the run taken from the files, or null when they give none worth using. */
  name: string | null;
  /** Every failed or errored test case, in file order. */
  failures: JUnitFailure[];
  /** The files' `time` attributes added up, in seconds (0 when they give none). */
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
 * Reads JUnit XML files and counts their test cases one by one (suite attributes such as
 * `tests="…"` disagree between runners, so they are not trusted). A test case is
 * failed if it has a `<failure>`, else errored if it has an `<error>`, else skipped if it has
 * a `<skipped>`, else passed. Works with a `<testsuites>` root or a bare `<testsuite>`, and
 * with suites nested to any depth.
 */
export async function parseJUnitFiles(paths: string[]): Promise<JUnitSummary> {
  const counts = { passed: 0, failed: 0, errored: 0, skipped: 0, total: 0 };
  const failures: JUnitFailure[] = [];
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
    const erroredBefore = counts.errored;
    walk(container, null, counts, failures, (timestamp) => {
      if (earliest === null || timestamp < earliest) earliest = timestamp;
    });
    if (root.kind === 'testsuites') {
      addUnlistedErrors(root.node, counts.errored - erroredBefore, path, counts, failures);
    }
    files.push({ durationSeconds: timeOf(container), earliest, modifiedAt });
  }

  const durationSeconds = round3(files.reduce((sum, file) => sum + file.durationSeconds, 0));
  // Each file covers [start, start + time]: start from its earliest suite timestamp, else it
  // ended when it was written. The run covers all of them.
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const file of files) {
    const ms = Math.round(file.durationSeconds * 1000);
    const fileStart = file.earliest ?? file.modifiedAt - ms;
    start = Math.min(start, fileStart);
    end = Math.max(end, fileStart + ms);
  }
  if (files.length === 0) start = end = Date.now();

  return {
    ...counts,
    name:
      suiteNames.find((n) => !PLACEHOLDER_SUITE.test(n)) ??
      rootNames.find((n) => !PLACEHOLDER_ROOT.test(n)) ??
      null,
    failures,
    durationSeconds,
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
    throw new JUnitParseError(`${path} is not well-formed XML (line ${line}, column ${col}): ${msg}`);
  }
  const document = parser.parse(xml) as XmlNode;
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

type Counts = Pick<JUnitSummary, 'passed' | 'failed' | 'errored' | 'skipped' | 'total'>;

/**
 * Errors a `<testsuites errors="N">` root counts beyond its test cases: gotestsum writes a Go
 * package that does not compile only there, with no test case. Left out, a build failure would
 * report a green run, so each becomes one errored test case. (Other count attributes are not
 * trusted: the test cases are counted instead; an error nobody listed is the exception.)
 */
function addUnlistedErrors(
  root: XmlNode,
  listed: number,
  path: string,
  counts: Counts,
  failures: JUnitFailure[],
): void {
  const declared = Number(root['@_errors']);
  if (!Number.isInteger(declared) || declared <= listed) return;
  const unlisted = declared - listed;
  counts.errored += unlisted;
  counts.total += unlisted;
  failures.push({
    name: `${unlisted === 1 ? 'an error' : `${unlisted} errors`} outside any test case`,
    classname: null,
    file: basename(path),
    message: `The report counts errors="${declared}" but lists ${listed}: the runner failed outside the tests (e.g. a Go package that does not compile).`,
    kind: 'error',
  });
}

function walk(
  node: XmlNode,
  suiteFile: string | null,
  counts: Counts,
  failures: JUnitFailure[],
  onTimestamp: (epochMs: number) => void,
): void {
  for (const testCase of asNodes(node.testcase)) {
    counts.total += 1;
    if ('failure' in testCase) {
      counts.failed += 1;
      failures.push(failureOf(testCase, 'failed', suiteFile));
    } else if ('error' in testCase) {
      counts.errored += 1;
      failures.push(failureOf(testCase, 'error', suiteFile));
    } else if ('skipped' in testCase) counts.skipped += 1;
    else counts.passed += 1;
  }
  for (const suite of asNodes(node.testsuite)) {
    const timestamp = parseTimestamp(suite['@_timestamp']);
    if (timestamp !== null) onTimestamp(timestamp);
    walk(suite, nonEmpty(suite['@_file']) ?? suiteFile, counts, failures, onTimestamp);
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

/** `1.5`, and the `1,234.5` some Surefire versions write under an English locale. */
function parseSeconds(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const seconds = Number(value.trim().replace(/,/g, ''));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
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

function round3(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
