/** The one wire shape of API errors (docs/api.md#errors), built here and nowhere else. */

export type ErrorCode =
  | 'MISSING_REQUIRED_FIELD'
  | 'INVALID_FIELD_VALUE'
  | 'INVALID_JSON'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'AGENT_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'ALREADY_EXISTS'
  | 'INVALID_STATE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'INTERNAL_ERROR';

const STATUS: Record<ErrorCode, number> = {
  MISSING_REQUIRED_FIELD: 400,
  INVALID_FIELD_VALUE: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  INVALID_STATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
};

export class ApiError extends Error {
  readonly status: number;
  /**
   * `status` overrides the code's usual status where HTTP has a more precise one for the same
   * fault: a URL or request head that is too long is `INVALID_FIELD_VALUE` with 414 or 431.
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    status?: 408 | 414 | 431,
  ) {
    super(message);
    this.status = status ?? STATUS[code];
  }

  toJSON(): { error: string; code: ErrorCode; details?: Record<string, unknown> } {
    return this.details
      ? { error: this.message, code: this.code, details: this.details }
      : { error: this.message, code: this.code };
  }
}

export const invalidField = (field: string, message: string) =>
  new ApiError('INVALID_FIELD_VALUE', message, { field });

/** The JSON schema shape of an error, for route `response` declarations and OpenAPI. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'code'],
  properties: {
    error: { type: 'string', description: 'A human-readable message.' },
    code: { type: 'string', enum: Object.keys(STATUS).filter((c) => c !== 'INTERNAL_ERROR') },
    details: { type: 'object', additionalProperties: true },
  },
} as const;
