/**
 * Request bodies sent with `Content-Encoding` (docs/api.md#conventions): `gzip` and `deflate` are
 * decompressed before the JSON parser reads them, and the body limit counts the decompressed
 * bytes, so a small bomb is refused as a large body; any other encoding is a 415 instead of a
 * confusing `INVALID_JSON`.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

const ACCEPTED_ENCODINGS = ['gzip', 'deflate', 'identity'] as const;

/** `bodyLimit`: the app's, for routes that set none of their own. */
export function decodeRequestBodies(app: FastifyInstance, bodyLimit: number): void {
  // A callback, not an async function: this runs for every request, and almost every one has no
  // Content-Encoding; an async hook costs each of them a promise.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const header = request.headers['content-encoding'];
    if (header === undefined) return done(null, payload);
    // Fastify reads no body of a GET or HEAD, nor of a request that declares none: a stream made
    // here would never be read.
    const { headers, method } = request;
    const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
    if (!hasBody || method === 'GET' || method === 'HEAD') return done(null, payload);
    const encoding = header.trim().toLowerCase();
    if (encoding === '' || encoding === 'identity') return done(null, payload);
    if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
      return done(
        new ApiError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${JSON.stringify(header)} is not supported; send gzip, deflate or none`,
          { accepted: [...ACCEPTED_ENCODINGS] },
        ),
      );
    }
    const decompress = encoding === 'deflate' ? createInflate() : createGunzip();
    // Stops the decompression at the limit, where Fastify's own count would let it run on unread.
    const limited = new DecompressedLimit(request.routeOptions.bodyLimit ?? bodyLimit);
    // Fastify compares Content-Length with the bytes that arrived, not with what they expand to.
    let received = 0;
    payload.on('data', (chunk: Buffer) => {
      received += chunk.length;
      (limited as { receivedEncodedLength?: number }).receivedEncodedLength = received;
    });
    // An error nobody reads (the body was never parsed) must not end the process: when Fastify
    // reads the stream it listens too, and answers the error.
    limited.on('error', () => {});
    const fail = (err: Error) => limited.destroy(err);
    decompress.on('error', () =>
      fail(new ApiError('INVALID_JSON', `the request body is not valid ${encoding} data`)),
    );
    payload.on('error', fail);
    payload.pipe(decompress).pipe(limited);
    limited.on('close', () => {
      payload.unpipe(decompress);
      decompress.destroy();
    });
    done(null, limited);
  });
}

/** Passes bytes through until more than `limit` have passed, then fails as a too-large body. */
class DecompressedLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(
        new ApiError(
          'PAYLOAD_TOO_LARGE',
          `the request body is larger than ${this.limit} bytes once decompressed`,
        ),
      );
      return;
    }
    done(null, chunk);
  }
}
