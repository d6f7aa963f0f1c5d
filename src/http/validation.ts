import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ApiError } from './errors.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * Bodies are validated strictly (no type coercion, unknown fields refused); query strings and
 * path parameters arrive as text, so there numbers are coerced and defaults applied.
 */
export function createValidatorCompiler() {
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
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strict : lenient).compile(schema);
}

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
    case 'format': {
      const format = (error.params as { format: string }).format;
      const human =
        format === 'date-time' ? 'an ISO-8601 time such as 2026-01-30T10:32:45Z' : `a valid ${format}`;
      return new ApiError('INVALID_FIELD_VALUE', `${field} must be ${human}`, { field });
    }
    default:
      return new ApiError('INVALID_FIELD_VALUE', `${field} ${error.message ?? 'is invalid'}`, { field });
  }
}

/**
 * The first place a NUL character appears in parsed JSON (a value or a key), as a field path, or
 * null. PostgreSQL cannot store NUL in text, so both backends refuse it the same way up front.
 */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\0') ? path || 'body' : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], path ? `${path}.${i}` : String(i));
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const field = path ? `${path}.${key}` : key;
    if (key.includes('\0')) return field;
    const found = findNul(item, field);
    if (found !== null) return found;
  }
  return null;
}
