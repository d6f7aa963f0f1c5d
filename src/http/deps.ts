/** What buildApp, the routes and the auth hook are given: their own module, so nothing under http/ imports app.ts. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SendPipeline } from '../delivery/sendPipeline.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';

export interface AppDeps {
  store: Store;
  config: Config;
  secretBox: SecretBox;
  /** The process's one send path (runtime.ts): Test Webhook sends through it. */
  send: SendPipeline;
  logger?: Logger | false;
  now?: () => number;
  /** How long close() waits for open connections before it cuts them (default 10 s). */
  closeGraceMs?: number;
  /** Resolves a webhook host at save time; the default asks the system resolver. */
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** Extra plugins (metrics, OpenAPI) registered before the routes. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
}
