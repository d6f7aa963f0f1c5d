/**
 * One failing `<testcase>` as `runhook report` sends it in a run's `failures` (docs/api.md):
 * who failed, where, and a message a person can read in a chat notification.
 */

/** A parsed element: attributes under `@_name`, text under `#text`, child elements by tag name. */
export type XmlNode = Record<string, unknown>;

export interface JUnitFailure {
  name: string;
  classname: string | null;
  file: string | null;
  message: string | null;
  kind: 'failed' | 'error';
}

/** Longest `name` (and `classname`, `file`) and `message` the API keeps. */
export const FAILURE_NAME_MAX = 500;
export const FAILURE_MESSAGE_MAX = 1000;

/**
 * Messages that only restate the kind: go-junit-report and gotestsum write `Failed` and
 * `Build error` and put what went wrong in the element's text.
 */
const PLACEHOLDER_MESSAGE = /^(?:failed|failure|error|build error|test failed)$/i;

/** Lines of a body that are noise in a notification: stack frames and Go's run markers. */
const NOISE_LINE =
  /^\s*(?:at\s+\S.*|❯\s+\S.*|=== (?:RUN|PAUSE|CONT|NAME)\b.*|--- (?:FAIL|PASS|SKIP):.*|\.\.\. \d+ more|Caused by:.*)$/;

export function failureOf(
  testCase: XmlNode,
  kind: 'failed' | 'error',
  suiteFile: string | null,
): JUnitFailure {
  const name = nonEmpty(testCase['@_name']) ?? '(unnamed test case)';
  const classname = nonEmpty(testCase['@_classname']);
  return {
    name: cut(oneLine(name), FAILURE_NAME_MAX),
    // jest-junit repeats the name as the class name by default; saying it twice helps no one.
    classname: classname === null || classname === name ? null : cut(oneLine(classname), FAILURE_NAME_MAX),
    file: mapNullable(nonEmpty(testCase['@_file']) ?? suiteFile, (file) => cut(file, FAILURE_NAME_MAX)),
    message: mapNullable(messageOf(testCase[kind === 'failed' ? 'failure' : 'error']), (m) =>
      cut(m, FAILURE_MESSAGE_MAX),
    ),
    kind,
  };
}

/**
 * The `message` attribute when it says something (pytest, vitest, Surefire, Playwright);
 * else the element's text without stack frames (jest-junit, Go), else whatever there is.
 */
function messageOf(element: unknown): string | null {
  const first = Array.isArray(element) ? element[0] : element;
  const attribute =
    typeof first === 'object' && first !== null ? nonEmpty((first as XmlNode)['@_message']) : null;
  if (attribute !== null && !PLACEHOLDER_MESSAGE.test(attribute)) return attribute;
  const text =
    typeof first === 'string'
      ? first
      : typeof first === 'object' && first !== null
        ? (first as XmlNode)['#text']
        : null;
  const body = typeof text === 'string' ? cleanBody(text) : null;
  if (body !== null) return body;
  const type = typeof first === 'object' && first !== null ? nonEmpty((first as XmlNode)['@_type']) : null;
  return attribute ?? type;
}

function cleanBody(text: string): string | null {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .filter((line) => !NOISE_LINE.test(line))
    .map((line) => line.trimEnd());
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
  const indent = indents.length === 0 ? 0 : Math.min(...indents);
  const body = lines
    .map((l) => l.slice(indent))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return body === '' ? null : body;
}

/** Shortens to at most `max` characters (code points), the last one `…` when cut. */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function mapNullable<T, U>(value: T | null, f: (value: T) => U): U | null {
  return value === null ? null : f(value);
}
