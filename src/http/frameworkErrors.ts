/**
 * Errors raised by Fastify and Node's HTTP parser rather than by a route, translated into the one
 * error shape (docs/api.md "Errors"), so a client never sees a framework's own body.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { SECURITY_HEADERS } from './securityHeaders.js';
import { validationToApiError } from './validation.js';

/** Longest request target (path and query) served; longer is a 414. */
export const MAX_URL_LENGTH = 8192;

type AnyError = FastifyError & { validation?: unknown; validationContext?: string };

/**
 * The ApiError a thrown error stands for, or null when it is a bug (answered with an opaque 500
 * and logged by the caller).
 */
export function toApiError(err: AnyError, bodyLimit: number): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err.validation) return validationToApiError(err.validation as never, err.validationContext ?? 'body');
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', `the request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('INVALID_JSON', 'the request body is not valid JSON');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('INVALID_FIELD_VALUE', 'a path segment of the URL is too long', undefined, 414);
    case 'FST_ERR_BAD_URL':
      return new ApiError('INVALID_FIELD_VALUE', 'the URL is not valid (bad percent-encoding)');
  }
  switch (err.statusCode) {
    case 401:
      return new ApiError('UNAUTHORIZED', err.message);
    case 404:
      return new ApiError('NOT_FOUND', 'not found');
    case 413:
      return new ApiError('PAYLOAD_TOO_LARGE', 'the request body is too large');
    case 415:
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    case 408:
    case 414:
    case 431:
      return new ApiError('INVALID_FIELD_VALUE', err.message, undefined, err.statusCode);
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    return new ApiError('INVALID_FIELD_VALUE', err.message);
  return null;
}

/** Sends an ApiError with its status (and Allow for a 405). */
export function sendApiError(reply: FastifyReply, apiError: ApiError): FastifyReply {
  if (apiError.code === 'METHOD_NOT_ALLOWED' && apiError.details?.allow) {
    reply.header('allow', (apiError.details.allow as string[]).join(', '));
  }
  return reply.code(apiError.status).send(apiError.toJSON());
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot route (a path parameter over `maxParamLength`, bad
 * percent-encoding). These replies are made outside the routes, so they get the headers here.
 */
export function onFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const apiError =
    toApiError(err as AnyError, 0) ?? new ApiError('INVALID_FIELD_VALUE', 'the request could not be routed');
  reply.headers(SECURITY_HEADERS);
  sendApiError(reply, apiError);
}

/** A request that is not HTTP Node can parse, answered on the raw socket (no route ever ran). */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status: 400 | 408 | 431 = 400;
  let message = 'the request is not valid HTTP';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'the request line and headers are larger than the server accepts (16 KiB)';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'the request was not received in time';
  }
  const body = JSON.stringify(
    new ApiError('INVALID_FIELD_VALUE', message, undefined, status === 400 ? undefined : status).toJSON(),
  );
  if (socket.writable) {
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      ...Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
      'connection: close',
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
