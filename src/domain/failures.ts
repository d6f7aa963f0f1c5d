/**
 * The failing tests of a test run (docs/api.md, "Failures"): what a notification names so that
 * nobody has to open another tool to learn what broke.
 */

import type { PayloadFailure } from './payloadSchemas.js';

export const FAILURE_KINDS = ['failed', 'error'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** One failing (or erroring) test, as stored on a run and sent in payloads (its schema: payloadSchemas.ts). */
export type TestFailure = PayloadFailure;

export const FAILURE_LIMITS = {
  /** Failures one run keeps. */
  perRun: 50,
  /** `name` longer than this is refused. */
  name: 500,
  /** `classname` and `file` longer than this are cut. */
  location: 500,
  /** `message` longer than this is cut, ending in `…`. */
  message: 1000,
  /** Failures the `standard` payload carries. */
  inStandardPayload: 20,
} as const;

/** What a caller may send for one failure. */
export interface FailureInput {
  name: string;
  classname?: string | null;
  file?: string | null;
  message?: string | null;
  kind?: FailureKind;
}

/**
 * Cuts `text` to at most `max` characters (code points, as a user counts them), the last one
 * being `…` when something was cut.
 */
export function cutText(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** The stored form of one failure: every key present, long texts cut, `kind` defaulting to `failed`. */
export function normalizeFailure(input: FailureInput): TestFailure {
  const optional = (text: string | null | undefined, max: number) =>
    text === undefined || text === null || text === '' ? null : cutText(text, max);
  return {
    name: input.name,
    classname: optional(input.classname, FAILURE_LIMITS.location),
    file: optional(input.file, FAILURE_LIMITS.location),
    message: optional(input.message, FAILURE_LIMITS.message),
    kind: input.kind ?? 'failed',
  };
}
