/**
 * A real Runhook (`node dist/src/cli/main.js serve`) on a free port with a fresh SQLite file,
 * for the tests that need deliveries made by the real worker: test/sdk/realDelivery.test.ts and
 * test/cli/report.e2e.test.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli } from '../helpers/cli.js';

export interface RealServer {
  /** `http://127.0.0.1:<port>`, also its RUNHOOK_PUBLIC_URL. */
  baseUrl: string;
  apiKey: string;
  /** Calls `/api/v1<path>` with the key; answers the status and parsed JSON (null for no body). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * `databaseUrl`: a RUNHOOK_DATABASE_URL (e.g. a backend's test database); default a fresh SQLite file.
 * `env`: more RUNHOOK_* settings for the server.
 */
export async function startRealServer(
  options: { databaseUrl?: string; env?: Record<string, string> } = {},
): Promise<RealServer> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'runhook-real-'));
  const port = await freePort();
  const apiKey = `sk_live_${Array.from({ length: 40 }, () => ALNUM[randomInt(ALNUM.length)]).join('')}`;
  const baseUrl = `http://127.0.0.1:${port}`;
  const serve = runCli(['serve'], {
    RUNHOOK_DATABASE_URL: options.databaseUrl ?? `sqlite:${join(dir, 'r.db')}`,
    RUNHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
    RUNHOOK_PORT: String(port),
    RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
    RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
    RUNHOOK_RETRY_JITTER: '0',
    RUNHOOK_LOG_LEVEL: 'warn',
    ...options.env,
  });

  const stop = async () => {
    if (serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      const timer = setTimeout(() => serve.child.kill('SIGKILL'), 5_000);
      await serve.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) break;
    if (serve.child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`runhook serve did not become ready on ${baseUrl}; output:\n${serve.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    baseUrl,
    apiKey,
    async api(method, path, body) {
      const res = await fetch(`${baseUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text === '' ? null : JSON.parse(text) };
    },
    stop,
  };
}
