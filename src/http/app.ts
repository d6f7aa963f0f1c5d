import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type {} from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { IdempotencyKeyTakenError } from '../store/store.js';
import { registerAuth } from './auth.js';
import { decodeRequestBodies } from './bodyEncoding.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import {
  MAX_URL_LENGTH,
  onClientError,
  onFrameworkError,
  sendApiError,
  toApiError,
} from './frameworkErrors.js';
import { registerIdempotency } from './idempotency.js';
import { ManualSendLimiter } from './manualSendLimit.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerApiKeyRoutes } from './routes/apiKeys.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerDeliveryStreamRoute } from './routes/deliveryStream.js';
import { registerResultRoutes } from './routes/results.js';
import { registerRunProgressRoutes } from './routes/runProgress.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerTestSuiteRoutes } from './routes/testSuites.js';
import { registerWebhookHealthRoutes } from './routes/webhookHealth.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { SECURITY_HEADERS } from './securityHeaders.js';
import { createSerializerCompiler } from './serialization.js';
import {
  createValidatorCompiler,
  inspectJson,
  MAX_JSON_DEPTH,
  mayHoldLoneSurrogate,
  replaceLoneSurrogates,
} from './validation.js';

export const BODY_LIMIT = 1024 * 1024;
/**
 * How long close() waits for open connections before it cuts them: requests in flight get this
 * long to be answered, and a client that keeps an idle connection, or a request that never ends,
 * cannot hold a shutdown.
 */
const CLOSE_GRACE_MS = 10_000;
// The built dashboard, dist/web, from where this code runs: bundled in dist/bin (the `runhook`
// command), compiled file by file in dist/src/http, or from source under the test runner.
const WEB_ROOT = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/bin/')
      ? '../web/'
      : import.meta.url.includes('/dist/src/')
        ? '../../web/'
        : '../../dist/web/',
    import.meta.url,
  ),
);
const NON_DASHBOARD = /^\/(api|healthz|readyz|metrics|openapi\.json|docs)(\/|$|\?)/;

/** Builds the Fastify app: the REST API under /api/v1, health checks and the dashboard. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger as unknown as FastifyBaseLogger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: onFrameworkError,
    clientErrorHandler: onClientError,
  });
  app.addHook('preClose', async () => {
    setTimeout(() => app.server.closeAllConnections?.(), deps.closeGraceMs ?? CLOSE_GRACE_MS).unref();
  });
  // On every answer, errors and the dashboard included (docs/api.md "Security headers").
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_LENGTH) {
      throw new ApiError(
        'INVALID_FIELD_VALUE',
        `the URL is longer than ${MAX_URL_LENGTH} characters`,
        undefined,
        414,
      );
    }
  });
  const validators = createValidatorCompiler();
  app.setValidatorCompiler(validators);
  app.decorate('compileAllValidators', validators.compileAll);
  const serializers = createSerializerCompiler();
  app.setSerializerCompiler(serializers);
  app.decorate('compileAllSerializers', serializers.compileAll);
  app.decorate('manualSends', new ManualSendLimiter(deps.config.manualSendLimit));

  acceptJsonBodies(app);

  // Routes by path pattern, for 405 answers and the dashboard's fallback.
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    const source = `^${route.url
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/:[A-Za-z_]+/g, '[^/]+')
      .replace(/\*/g, '.*')}/?$`;
    let entry = routes.get(source);
    if (!entry) {
      entry = { pattern: new RegExp(source), methods: new Set() };
      routes.set(source, entry);
    }
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(m);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if ((err as unknown) instanceof IdempotencyKeyTakenError) {
      return sendApiError(
        reply,
        new ApiError(
          'ALREADY_EXISTS',
          'another request with this Idempotency-Key was answered meanwhile; send it again to get that answer',
          { field: 'Idempotency-Key' },
        ),
      );
    }
    const apiError = toApiError(err, request.routeOptions.bodyLimit ?? BODY_LIMIT);
    // A body sent to a path or method that has no route is never judged: that is a 404 or 405
    // (docs/api.md#errors). Only a URL too long to route stays a 414.
    if (request.is404 && apiError?.status !== 414) return answerNoRoute(request, reply);
    if (apiError) return sendApiError(reply, apiError);
    request.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send({ error: 'internal error; the details are in the server log', code: 'INTERNAL_ERROR' });
  });

  const hasDashboard = existsSync(`${WEB_ROOT}index.html`);
  function answerNoRoute(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0] ?? '/';
    const match = [...routes.values()].find((r) => r.pattern.test(path));
    if (match && !match.methods.has(request.method)) {
      const allow = [...match.methods].filter((m) => m !== 'HEAD').sort();
      reply.header('allow', allow.join(', '));
      return reply.code(405).send(
        new ApiError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, {
          allow,
        }).toJSON(),
      );
    }
    if (
      hasDashboard &&
      (request.method === 'GET' || request.method === 'HEAD') &&
      !NON_DASHBOARD.test(path)
    ) {
      // Dashboard routes (/runs/{id}, /agents, ...) are drawn in the browser.
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.code(404).send(new ApiError('NOT_FOUND', `no route for ${request.method} ${path}`).toJSON());
  }
  app.setNotFoundHandler(answerNoRoute);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', error: 'the database is not reachable' });
    }
  });

  for (const plugin of deps.plugins ?? []) await plugin(app);

  await app.register(async (api) => registerApi(api, deps), { prefix: '/api/v1' });

  if (hasDashboard) {
    await app.register(fastifyStatic, { root: WEB_ROOT, wildcard: false, index: 'index.html' });
  }
  return app;
}

/**
 * How the app reads request bodies: JSON only (gzip or deflate allowed), checked for NUL
 * characters and depth, lone surrogates in text mended.
 */
function acceptJsonBodies(app: FastifyInstance): void {
  // JSON only. An empty body is "no body" (POST /runs/{id}/cancel needs none).
  app.removeAllContentTypeParsers();
  decodeRequestBodies(app, BODY_LIMIT);
  const withSurrogateEscapes = new WeakSet<object>();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      const parsed: unknown = JSON.parse(text);
      if (mayHoldLoneSurrogate(text)) withSurrogateEscapes.add(req);
      done(null, parsed);
    } catch (err) {
      done(
        new ApiError(
          'INVALID_JSON',
          `the request body is not valid JSON: ${(err as Error).message}`,
        ) as never,
        undefined,
      );
    }
  });

  // A request without a body is a request with an empty object: optional bodies (cancel,
  // redeliver) just work, and a required field is reported by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'DELETE')
      request.body = {};
    // Text with NUL is refused on both backends alike (PostgreSQL cannot store it); so is a body
    // nested deeper than MAX_JSON_DEPTH (docs/api.md#errors).
    for (const [part, value] of [
      ['', request.body],
      ['query parameter ', request.query],
      ['path parameter ', request.params],
    ] as const) {
      const problem = inspectJson(value);
      if (problem?.kind === 'too_deep') {
        throw new ApiError(
          'INVALID_JSON',
          `the request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
      if (problem !== null) {
        const shown = problem.field.replace(/\0/g, '\\0');
        throw new ApiError('INVALID_FIELD_VALUE', `${part}${shown} must not contain a NUL character`, {
          field: shown,
        });
      }
    }
  });

  // After validation, so that a name holding a lone surrogate is still refused by its pattern:
  // in other text a lone surrogate becomes U+FFFD (docs/api.md#conventions).
  app.addHook('preHandler', (request, _reply, done) => {
    if (withSurrogateEscapes.has(request)) request.body = replaceLoneSurrogates(request.body);
    done();
  });
}

/** The API under /api/v1: auth and idempotency first, then one file of routes per resource. */
function registerApi(api: FastifyInstance, deps: AppDeps): void {
  registerAuth(api, deps);
  registerIdempotency(api, deps);
  registerAgentRoutes(api, deps);
  registerRunRoutes(api, deps);
  registerResultRoutes(api, deps);
  registerRunProgressRoutes(api, deps);
  registerTestSuiteRoutes(api, deps);
  registerWebhookRoutes(api, deps);
  registerWebhookHealthRoutes(api, deps);
  registerDeliveryStreamRoute(api, deps);
  registerDeliveryRoutes(api, deps);
  registerApiKeyRoutes(api, deps);
}
