import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import type { Worker } from '../../src/delivery/deliveryWorker.js';
import { createWorkerWithHealth } from '../../src/delivery/workerWithHealth.js';
import { buildApp } from '../../src/http/app.js';
import {
  bootstrapOrganization,
  closeRuntime,
  createLogger,
  openRuntime,
  type Runtime,
} from '../../src/runtime.js';
import { generateApiKey } from '../../src/security/apiKeys.js';
import type { Backend, TestDatabase } from './backends.js';

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export interface TestContext {
  config: Config;
  rt: Runtime;
  app: FastifyInstance;
  db: TestDatabase;
  apiKey: string;
  orgId: string;
  worker: Worker | null;
  /** Calls the real Fastify app in-process (no port). `key: null` sends no Authorization header. */
  api<T = any>(method: string, path: string, body?: unknown, key?: string | null): Promise<ApiAnswer<T>>;
  /** Creates a second organization and returns its key. */
  newOrg(name?: string): Promise<{ orgId: string; apiKey: string }>;
  close(): Promise<void>;
}

/** Test settings: loopback receivers allowed, retries in milliseconds, no jitter. */
export const TEST_ENV = {
  RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
  RUNHOOK_RETRY_SCHEDULE: '50ms,50ms,50ms',
  RUNHOOK_RETRY_JITTER: '0',
  RUNHOOK_ATTEMPT_TIMEOUT: '2s',
  RUNHOOK_SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
  RUNHOOK_LOG_LEVEL: 'silent',
  RUNHOOK_CLAIM_LEASE: '3s',
};

export async function createTestContext(
  backend: Backend,
  options: {
    env?: Record<string, string>;
    worker?: boolean;
    /** The clock of the app and the worker (default: the real one). */
    now?: () => number;
  } = {},
): Promise<TestContext> {
  const db = await backend.createMigrated();
  const apiKey = generateApiKey();
  const config = loadConfig({
    ...TEST_ENV,
    RUNHOOK_DATABASE_URL: db.url,
    RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
    RUNHOOK_PUBLIC_URL: 'http://runhook.test',
    ...options.env,
  });
  const logger = createLogger(config);
  let rt: Runtime;
  try {
    // The clock reaches every attempt through the runtime's send pipeline, as it does the app and the worker.
    rt = await openRuntime(config, logger, { now: options.now });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const boot = await bootstrapOrganization(rt);
  if (!boot) throw new Error('a fresh test database already had an organization');
  const app = await buildApp({
    store: rt.store,
    config,
    secretBox: rt.secretBox,
    send: rt.send,
    now: options.now,
  });
  await app.ready();
  let worker: Worker | null = null;
  if (options.worker) {
    worker = createWorkerWithHealth({
      store: rt.store,
      send: rt.send,
      settings: config,
      config,
      logger,
      now: options.now,
      // As `runhook serve`'s own worker (src/cli/workerProcess.ts).
      leaseAhead: true,
    });
    worker.start();
  }

  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
    key: string | null = apiKey,
  ): Promise<ApiAnswer<T>> => {
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await app.inject({ method: method as 'GET', url: path, headers, payload });
    let parsed: unknown = res.body;
    try {
      parsed = res.body === '' ? undefined : JSON.parse(res.body);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.statusCode, body: parsed as T, headers: res.headers as Record<string, unknown> };
  };

  return {
    config,
    rt,
    app,
    db,
    apiKey,
    orgId: boot.orgId,
    worker,
    api,
    async newOrg(name = 'second') {
      const { newApiKeyRecord } = await import('../../src/security/apiKeys.js');
      const key = generateApiKey();
      const org = await rt.store.createOrganization(name, newApiKeyRecord(key, 'test', null), Date.now());
      return { orgId: org.id, apiKey: key };
    },
    async close() {
      await slowStepReported('worker.stop', () => worker?.stop(2_000));
      await slowStepReported('app.close', () => app.close());
      await slowStepReported('closeRuntime', () => closeRuntime(rt));
      await slowStepReported('db.drop', () => db.drop());
    },
  };
}

/**
 * Runs one step of a context's close, and says on stderr which step it is, and what the process
 * holds open, when it takes over 10 s: a hook timeout alone does not say where a close hung.
 */
async function slowStepReported(step: string, fn: () => Promise<unknown> | undefined): Promise<void> {
  const started = Date.now();
  const watch = setInterval(() => {
    const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => {
      const s = h as { constructor?: { name?: string }; localPort?: number; remotePort?: number };
      return `${s.constructor?.name ?? '?'}${s.remotePort ? ` ${s.localPort}->${s.remotePort}` : ''}`;
    });
    process.stderr.write(
      `[test context] close: ${step} still running after ${Date.now() - started} ms; open handles: ${handles.join(', ')}\n`,
    );
  }, 10_000);
  try {
    await fn();
  } finally {
    clearInterval(watch);
  }
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}
