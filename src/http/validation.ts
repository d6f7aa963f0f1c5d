import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ApiError } from './errors.js';
import { NAME_TEXT_PATTERN } from './schemas.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * Bodies are validated strictly (no type coercion, unknown fields refused); query strings and
 * path parameters arrive as text, so there numbers are coerced and defaults applied.
 */
function newAjvPair(): { strict: Ajv; lenient: Ajv } {
  const strict = new Ajv({
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    strict: false,
  });
  const lenient = new Ajv({
    allErrors: false,
    coerceTypes: true,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  addFormats(strict);
  addFormats(lenient);
  return { strict, lenient };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by buildApp: compiles every route's request schemas now (they compile lazily). */
    compileAllValidators(): number;
  }
}

let shared: { ajv: { strict: Ajv; lenient: Ajv }; compiled: Map<string, ValidateFunction> } | null = null;

/**
 * One compiled validator per schema and process: every app built in a process (each test builds
 * its own) reuses what the first compiled. Each schema is compiled on its route's first request,
 * not when the app is built: compiling every route's schemas was a sixth of `runhook serve`'s
 * start, paid again by every process that starts, for routes most processes never see.
 */
export function createValidatorCompiler() {
  shared ??= { ajv: newAjvPair(), compiled: new Map() };
  const { ajv, compiled } = shared;
  const compileOnce = (key: string, mode: 'strict' | 'lenient', schema: object): ValidateFunction => {
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv[mode].compile(schema);
      compiled.set(key, validate);
    }
    return validate;
  };
  /** What this compiler handed out, so that `compileAll` can check every schema at once. */
  const handedOut = new Map<string, { mode: 'strict' | 'lenient'; schema: object }>();
  const compile = ({ schema, httpPart }: { schema: object; httpPart?: string }) => {
    const mode = httpPart === 'body' ? 'strict' : 'lenient';
    const key = `${mode}:${JSON.stringify(schema)}`;
    handedOut.set(key, { mode, schema });
    // Fastify reads a failed validation's reasons from the function's `errors`, as Ajv sets them.
    const validate = (data: unknown): boolean => {
      const compiledOnce = compileOnce(key, mode, schema);
      const valid = compiledOnce(data);
      validate.errors = compiledOnce.errors;
      return valid;
    };
    validate.errors = null as ErrorObject[] | null | undefined;
    return validate;
  };
  /** Compiles every schema handed out so far (a test's check that all of them compile); how many. */
  compile.compileAll = (): number => {
    for (const [key, { mode, schema }] of handedOut) compileOnce(key, mode, schema);
    return handedOut.size;
  };
  return compile;
}

/** JSON Schema type names as an error message says them. */
const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function fieldName(prefix: string, error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  return path || prefix;
}

/** Turns the first schema violation into the API's error shape (docs/api.md#errors), naming the field. */
export function validationToApiError(errors: ErrorObject[], context: string): ApiError {
  const error = errors[0];
  if (!error) return new ApiError('INVALID_FIELD_VALUE', 'invalid request');
  const where =
    context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : 'field';
  if (context === 'body' && error.instancePath === '' && error.keyword === 'type') {
    return new ApiError('INVALID_JSON', 'the request body must be a JSON object');
  }
  const field = fieldName(context, error);
  switch (error.keyword) {
    case 'required':
      return new ApiError('MISSING_REQUIRED_FIELD', `${field} is required`, { field });
    case 'additionalProperties':
      return new ApiError('INVALID_FIELD_VALUE', `unknown ${where} "${field}"`, { field });
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return new ApiError(
        'INVALID_FIELD_VALUE',
        `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
        {
          field,
          allowed,
        },
      );
    }
    case 'type': {
      // Ajv says "must be object,null"; people read "must be an object or null".
      const type = (error.params as { type: string | string[] }).type;
      const names = (Array.isArray(type) ? type : String(type).split(',')).map((t) => TYPE_NAMES[t] ?? t);
      return new ApiError('INVALID_FIELD_VALUE', `${field} must be ${names.join(' or ')}`, { field });
    }
    case 'format': {
      const format = (error.params as { format: string }).format;
      const human =
        format === 'date-time' ? 'an ISO-8601 time such as 2026-01-30T10:32:45Z' : `a valid ${format}`;
      return new ApiError('INVALID_FIELD_VALUE', `${field} must be ${human}`, { field });
    }
    case 'pattern':
      if ((error.params as { pattern: string }).pattern === NAME_TEXT_PATTERN) {
        return new ApiError(
          'INVALID_FIELD_VALUE',
          `${field} must contain a character other than whitespace, and no lone UTF-16 surrogate`,
          { field },
        );
      }
      return new ApiError('INVALID_FIELD_VALUE', `${field} ${error.message ?? 'is invalid'}`, { field });
    default:
      return new ApiError('INVALID_FIELD_VALUE', `${field} ${error.message ?? 'is invalid'}`, { field });
  }
}

/** Objects and arrays nested deeper than this in a request body are refused (docs/api.md#errors). */
export const MAX_JSON_DEPTH = 64;

export type JsonProblem = { kind: 'nul'; field: string } | { kind: 'too_deep' };

/**
 * Looks through parsed JSON once, without recursion (a body nested thousands deep must not
 * overflow the stack): the first place a NUL character appears (a value or a key), as a field
 * path, or nesting deeper than `maxDepth` objects and arrays. PostgreSQL cannot store NUL in text,
 * so both backends refuse it the same way up front.
 */
export function inspectJson(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  // Depth-first, in document order: children are pushed in reverse. A value's path is only
  // spelled out for the one reported (each entry knows its parent and its key): a body of 10,000
  // results holds some 50,000 values.
  const stack: JsonPlace[] = [{ value, key: '', parent: null, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const v = top.value;
    if (typeof v === 'string') {
      if (v.includes('\0')) return { kind: 'nul', field: pathOf(top) || 'body' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const depth = top.depth + 1;
    if (depth > maxDepth) return { kind: 'too_deep' };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const item = v[i];
        // Numbers, booleans and null need no visit.
        if (typeof item === 'object' || typeof item === 'string')
          stack.push({ value: item, key: i, parent: top, depth });
      }
      continue;
    }
    const keys = Object.keys(v);
    for (const key of keys) {
      if (key.includes('\0')) return { kind: 'nul', field: pathOf({ value: null, key, parent: top, depth }) };
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const item = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' || typeof item === 'string')
        stack.push({ value: item, key, parent: top, depth });
    }
  }
  return null;
}

/** A value met by inspectJson: where it is, as its key in its parent. */
interface JsonPlace {
  value: unknown;
  key: string | number;
  parent: JsonPlace | null;
  depth: number;
}

/** The dotted path of a place, '' for the top. */
function pathOf(place: JsonPlace): string {
  const keys: string[] = [];
  for (let p: JsonPlace | null = place; p?.parent; p = p.parent) keys.push(String(p.key));
  return keys.reverse().join('.');
}

/**
 * JSON text that writes a UTF-16 surrogate as an escape (`\ud83d`): the only way a lone surrogate
 * can reach a parsed body (raw bytes that are not UTF-8 are decoded to U+FFFD already).
 */
export function mayHoldLoneSurrogate(jsonText: string): boolean {
  return /\\u[dD][89a-fA-F]/.test(jsonText);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces every lone UTF-16 surrogate in the string values of parsed JSON with U+FFFD, in place,
 * as any UTF-8 encoder does: stored text then reads back the same on both backends (SQLite kept
 * three U+FFFD for one, PostgreSQL's jsonb refused it). Runs after validation, so names, which
 * refuse a lone surrogate, are not changed; keys are left as they are (unknown keys are refused).
 */
export function replaceLoneSurrogates(value: unknown): unknown {
  const mend = (v: unknown) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v);
  if (typeof value !== 'object' || value === null) return mend(value);
  const stack: object[] = [value];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const entries = top as Record<string, unknown>;
    for (const key of Object.keys(entries)) {
      const item = entries[key];
      if (typeof item === 'string') entries[key] = mend(item);
      else if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return value;
}
