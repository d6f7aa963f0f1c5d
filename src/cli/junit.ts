import { readFile } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** What `runhook report` takes from JUnit XML files: counts of test cases and a few facts. */
export interface JUnitSummary {
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /** Every `<testcase>`, skipped ones included. */
  total: number;
  /** A name for the run taken from the files, or null when they give none worth using. */
  name: string | null;
  /** The earliest suite `timestamp`, as UTC ISO-8601 to the second, or null when absent. */
  startedAt: string | null;
}

export class JUnitParseError extends Error {
  override name = 'JUnitParseError';
}

/** A parsed element: attributes under `@_name`, child elements by tag name. */
type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Suites and test cases can appear once or many times; always get arrays.
  isArray: (tagName, _path, _isLeaf, isAttribute) =>
    !isAttribute && (tagName === 'testsuite' || tagName === 'testcase'),
});

/**
 * Reads JUnit XML files and counts their test cases one by one (suite attributes such as
 * `tests="…"` disagree between runners, so they are not trusted). A test case is
 * failed if it has a `<failure>`, else errored if it has an `<error>`, else skipped if it has
 * a `<skipped>`, else passed. Works with a `<testsuites>` root or a bare `<testsuite>`, and
 * with suites nested to any depth.
 */
export async function parseJUnitFiles(paths: string[]): Promise<JUnitSummary> {
  const summary: JUnitSummary = {
    passed: 0,
    failed: 0,
    errored: 0,
    skipped: 0,
    total: 0,
    name: null,
    startedAt: null,
  };
  const topLevelSuiteNames: string[] = [];
  let topLevelCases = 0;
  let rootName: string | null = null;
  let earliest: number | null = null;

  for (const path of paths) {
    const root = await readRoot(path);
    if (root.kind === 'testsuites') {
      rootName ??= nonEmpty(root.node['@_name']);
      topLevelCases += asNodes(root.node.testcase).length;
    }
    for (const suite of root.suites) {
      topLevelSuiteNames.push(nonEmpty(suite['@_name']) ?? '');
    }
    walk(root.kind === 'testsuites' ? root.node : { testsuite: root.suites }, summary, (timestamp) => {
      if (earliest === null || timestamp < earliest) earliest = timestamp;
    });
  }

  // One suite and nothing beside it (pytest, a single vitest file) names the run best; several
  // suites are better named by their root (`vitest tests`); otherwise the caller picks a default.
  const onlySuite = topLevelSuiteNames.length === 1 && topLevelCases === 0 ? topLevelSuiteNames[0] : '';
  summary.name = onlySuite || rootName;
  summary.startedAt = earliest === null ? null : isoSeconds(earliest);
  return summary;
}

async function readRoot(
  path: string,
): Promise<{ kind: 'testsuites' | 'testsuite'; node: XmlNode; suites: XmlNode[] }> {
  let xml: string;
  try {
    xml = await readFile(path, 'utf8');
  } catch (error) {
    throw new JUnitParseError(`cannot read ${path}: ${(error as Error).message}`);
  }
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

function walk(node: XmlNode, summary: JUnitSummary, onTimestamp: (epochMs: number) => void): void {
  for (const testCase of asNodes(node.testcase)) {
    summary.total += 1;
    if ('failure' in testCase) summary.failed += 1;
    else if ('error' in testCase) summary.errored += 1;
    else if ('skipped' in testCase) summary.skipped += 1;
    else summary.passed += 1;
  }
  for (const suite of asNodes(node.testsuite)) {
    const timestamp = parseTimestamp(suite['@_timestamp']);
    if (timestamp !== null) onTimestamp(timestamp);
    walk(suite, summary, onTimestamp);
  }
}

/** An empty element (`<testsuites/>`) parses as '', a repeated one as an array. */
function asNode(value: unknown): XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as XmlNode) : {};
}

function asNodes(value: unknown): XmlNode[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(asNode);
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * JUnit timestamps come with an offset (pytest, vitest) or without one (Ant, Maven, Jenkins),
 * in which case they are the local time of the machine that ran the tests; we read them as
 * local time here, which is right when `runhook report` runs on that machine, as it does in CI.
 */
function parseTimestamp(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const epochMs = new Date(value.trim()).getTime();
  return Number.isNaN(epochMs) ? null : epochMs;
}

function isoSeconds(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}
