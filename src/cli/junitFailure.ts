import type { TestFailure } from '../domain/failures.js';

/**
 * What a failing `<testcase>` says went wrong, as `runhook report` sends it in a run's `results`
 * and `failures` (docs/api.md): a message a person can read in a chat notification.
 */

/** A parsed element: attributes under `@_name`, text under `#text`, child elements by tag name. */
export type XmlNode = Record<string, unknown>;

/** A failing test case in the shape the API takes and keeps (docs/api.md, "Failures"). */
export type JUnitFailure = TestFailure;

/**
 * Messages that only restate the kind: go-junit-report and gotestsum write `Failed` and
 * `Build error` and put what went wrong in the element's text.
 */
const PLACEHOLDER_MESSAGE = /^(?:failed|failure|error|build error|test failed)$/i;

/** Lines of a body that are noise in a notification: stack frames and Go's run markers. */
const NOISE_LINE =
  /^\s*(?:at\s+\S.*|❯\s+\S.*|=== (?:RUN|PAUSE|CONT|NAME)\b.*|--- (?:FAIL|PASS|SKIP):.*|\.\.\. \d+ more|Caused by:.*)$/;

/**
 * The uncut message of a `<failure>` or `<error>`: the `message` attribute when it says something (pytest, vitest, Surefire, Playwright);
 * else the element's text without stack frames (jest-junit, Go), else whatever there is.
 */
export function messageOf(element: unknown): string | null {
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

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}
