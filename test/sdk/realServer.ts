/**
 * A real Runhook (`node dist/bin/runhook.js serve`) on a free port with a fresh SQLite file,
 * for the tests that need deliveries made by the real worker: test/sdk/realDelivery.test.ts and
 * test/cli/report.e2e.test.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/freePort.js';

export interface RealServer {
  /** `http://127.0.0.1:<port>`, also its RUNHOOK_PUBLIC_URL. */
  baseUrl: string;
  apiKey: string;
  /** Calls `/api/v1<path>` with the key; answers the status and parsed JSON (null for no body). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `databaseUrl`: a RUNHOOK_DATABASE_URL (e.g. a backend's test database); default a fresh SQLite file.
 * `env`: more RUNHOOK_* settings for the server.
 */
export async function startRealServer(
  options: { databaseUrl?: string; env?: Record<string, string> } = {},
): Promise<RealServer> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'runhook-real-'));
  const apiKey = `sk_live_${Array.from({ length: 40 }, () => ALNUM[randomInt(ALNUM.length)]).join('')}`;
  // A free port can be taken by another test's server before this one binds it; that server would
  // answer /readyz (and 401 to this key). Ready means this process says it listens; a clash is
  // tried again on another port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
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
    const listening = await Promise.race([
      serve.waitForOutput('Runhook is listening on', 20_000).then(
        () => true,
        () => false,
      ),
      serve.exited.then(() => false),
    ]);
    if (!listening) {
      const clash = /already in use/.test(serve.output());
      if (clash && attempt < 3) {
        await serve.exited;
        continue;
      }
      await stop();
      throw new Error(`runhook serve did not start on ${baseUrl}; output:\n${serve.output()}`);
    }
    return realServer(baseUrl, apiKey, stop);
  }
}

function realServer(baseUrl: string, apiKey: string, stop: () => Promise<void>): RealServer {
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
