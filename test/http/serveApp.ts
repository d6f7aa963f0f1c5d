import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { extraPlugins } from '../../src/cli/plugins.js';
import { buildApp } from '../../src/http/app.js';
import type { TestContext } from '../helpers/context.js';

export interface ServedApp {
  app: FastifyInstance;
  /** Calls the app in-process. `key: null` sends no Authorization header. */
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    key?: string | null,
  ): Promise<{ status: number; body: T; text: string; headers: Record<string, unknown> }>;
}

/**
 * The app as `runhook serve` builds it — with extraPlugins (OpenAPI, /docs, /metrics) — on the
 * test context's store. The context's own `ctx.app` has no plugins.
 */
export async function serveApp(
  ctx: TestContext,
  options: { logger?: Logger; before?: (app: FastifyInstance) => void } = {},
): Promise<ServedApp> {
  const app = await buildApp({
    store: ctx.rt.store,
    config: ctx.config,
    secretBox: ctx.rt.secretBox,
    send: ctx.rt.send,
    logger: options.logger ?? false,
    plugins: [...(options.before ? [options.before] : []), ...extraPlugins(ctx.rt)],
  });
  await app.ready();
  return {
    app,
    async call(method, path, body, key = ctx.apiKey) {
      const headers: Record<string, string> = {};
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers,
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      let parsed: unknown;
      try {
        parsed = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        parsed = undefined;
      }
      return {
        status: res.statusCode,
        body: parsed as never,
        text: res.body,
        headers: res.headers as Record<string, unknown>,
      };
    },
  };
}
