/**
 * What the dashboard's browser test and the screenshot script both need: the real server on a
 * temp SQLite file, a real receiver on 127.0.0.1, headless Chromium, and a small REST client.
 * The server is the built CLI (`dist/bin/runhook.js`); `npm test` and `npm run screenshots`
 * build before they run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Request,
} from 'playwright-core';
import { CHROMIUM_ENV, findChromium } from '../helpers/environment.js';
import { freePort } from '../helpers/freePort.js';

/**
 * For `describe.skipIf(!chromiumFound)(…)` in every suite that drives the browser: false only when
 * test/globalSetup.ts found none (never in CI, where that fails the run and says so).
 */
export const chromiumFound = Boolean(process.env[CHROMIUM_ENV]);

/** The repository root, whether this file runs from test/web/ or from dist/test/web/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the test harness');
    dir = parent;
  }
  return dir;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

// ---- Server -------------------------------------------------------------------------------

export interface RunningServer {
  baseUrl: string;
  apiKey: string;
  /** Everything the server printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

export async function startServer(extraEnv: Record<string, string> = {}): Promise<RunningServer> {
  const root = repoRoot();
  const main = join(root, 'dist/bin/runhook.js');
  if (!existsSync(main)) throw new Error(`${main} does not exist: run \`npm run build\` first`);
  if (!existsSync(join(root, 'dist/web/index.html')))
    throw new Error('dist/web/index.html does not exist: run `npm run build` first');

  const dataDir = mkdtempSync(join(tmpdir(), 'runhook-web-'));
  const port = await freePort();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const apiKey = `sk_live_${Array.from(randomBytes(40), (b) => alphabet[b % alphabet.length]).join('')}`;
  const child: ChildProcess = spawn(process.execPath, [main, 'serve'], {
    cwd: dataDir,
    env: {
      ...process.env,
      RUNHOOK_DATABASE_URL: `sqlite:${join(dataDir, 'runhook.db')}`,
      RUNHOOK_PORT: String(port),
      RUNHOOK_HOST: '127.0.0.1',
      RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
      RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
      RUNHOOK_RETRY_SCHEDULE: '100ms',
      RUNHOOK_RETRY_JITTER: '0',
      RUNHOOK_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exit, sleep(5_000)]);
      if (!exited) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      'the server to answer /readyz',
      async () => {
        if (exited) throw new Error('the server exited');
        const response = await fetch(`${baseUrl}/readyz`);
        return response.status === 200;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\n--- server output ---\n${output}`);
  }
  return { baseUrl, apiKey, output: () => output, stop };
}

// ---- Receiver -----------------------------------------------------------------------------

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  /** A URL on this receiver, e.g. url('/org'). */
  url: (path: string) => string;
  requests: ReceivedRequest[];
  /** 'ok' answers 200 with OK_BODY; 'fail' answers 500 with FAIL_BODY. */
  setMode: (mode: 'ok' | 'fail') => void;
  close: () => Promise<void>;
}

export const RECEIVER_OK_BODY = JSON.stringify({ received: true, note: 'hello from the test receiver' });
export const RECEIVER_FAIL_BODY = JSON.stringify({ error: 'the test receiver is failing on purpose' });

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let mode: 'ok' | 'fail' = 'ok';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const failing = mode === 'fail';
      res.writeHead(failing ? 500 : 200, {
        'content-type': 'application/json',
        'x-receiver': 'runhook-test',
      });
      res.end(failing ? RECEIVER_FAIL_BODY : RECEIVER_OK_BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    setMode: (next) => {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- Browser ------------------------------------------------------------------------------

/**
 * Launches headless Chromium: the one test/globalSetup.ts found, or (outside vitest, e.g. `npm run
 * screenshots`) the first of CHROMIUM_PATH, PATH, /usr/bin/chromium, Playwright's own install.
 */
export async function launchBrowser(): Promise<Browser> {
  let executablePath = process.env[CHROMIUM_ENV];
  if (!executablePath) {
    const search = await findChromium();
    if (search.path === null) throw new Error(`Chromium not found: ${search.why}`);
    executablePath = search.path;
  }
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

let shared: Promise<Browser> | null = null;

/**
 * Under vitest, one Chromium per test process, for the dashboard files it runs one after another
 * (vitest.config.ts: isolate false): each file still opens its own browser context, so no cookie,
 * storage or permission crosses files, and the launch (seconds on a loaded machine) is paid once.
 * `release` closes the file's contexts; Playwright ends the browser with the process. Outside
 * vitest (`npm run screenshots`) each harness launches its own browser and closes it.
 */
async function harnessBrowser(): Promise<{ browser: Browser; release: () => Promise<void> }> {
  if (!process.env.VITEST) {
    const own = await launchBrowser();
    return { browser: own, release: () => own.close() };
  }
  let browser = shared ? await shared.catch(() => null) : null;
  if (!browser?.isConnected()) {
    shared = launchBrowser();
    browser = await shared;
  }
  const kept = browser;
  return {
    browser: kept,
    release: async () => {
      await Promise.all(kept.contexts().map((c) => c.close().catch(() => undefined)));
    },
  };
}

export function newLaptopContext(
  browser: Browser,
  baseUrl: string,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: baseUrl,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    ...options,
  });
}

/** Signs in on the login page: opens `target`, is sent to /login, and lands back on `target`. */
export async function signIn(page: Page, apiKey: string, target = '/'): Promise<void> {
  await page.goto(target);
  await page.waitForURL(/\/login/);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === target);
}

// ---- REST ---------------------------------------------------------------------------------

export interface RestClient {
  request: <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: T }>;
  get: <T = unknown>(path: string) => Promise<T>;
  post: <T = unknown>(path: string, body?: unknown) => Promise<T>;
}

export function restClient(baseUrl: string, apiKey: string): RestClient {
  async function request<T>(method: string, path: string, body?: unknown) {
    const response = await fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }
  async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await request<T>(method, path, body);
    if (answer.status >= 300)
      throw new Error(`${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
  return {
    request,
    get: (path) => ok('GET', path),
    post: (path, body) => ok('POST', path, body ?? {}),
  };
}

// ---- Everything together ----------------------------------------------------------------

export interface Harness {
  server: RunningServer;
  receiver: Receiver;
  browser: Browser;
  rest: RestClient;
  close: () => Promise<void>;
}

/** `env`: the server's environment on top of startServer's. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const receiver = await startReceiver();
  let server: RunningServer | undefined;
  try {
    server = await startServer(env);
    const { browser, release } = await harnessBrowser();
    const running = server;
    return {
      server: running,
      receiver,
      browser,
      rest: restClient(running.baseUrl, running.apiKey),
      close: async () => {
        await release().catch(() => undefined);
        await running.stop();
        await receiver.close();
      },
    };
  } catch (error) {
    await server?.stop();
    await receiver.close();
    throw error;
  }
}

export interface DashboardOptions {
  /** The server's environment on top of startServer's. */
  env?: Record<string, string>;
  /** Over the laptop context's options: another viewport, time zone, locale. */
  context?: BrowserContextOptions;
  /** Playwright's timeout for each step. */
  stepTimeoutMs?: number;
  /** Before the page opens: permissions, init scripts. `baseUrl` is the server's. */
  prepareContext?: (context: BrowserContext, baseUrl: string) => Promise<unknown>;
  /** Right after the page opens, before anything loads: listeners. */
  preparePage?: (page: Page) => void;
  /** Sign in, starting from this path and landing on it; default: the page stays signed out. */
  signInAt?: string;
}

/** A dashboard suite's setup: the harness, one laptop-sized browser context and a page in it. */
export interface Dashboard extends Harness {
  context: BrowserContext;
  page: Page;
}

/**
 * Everything a dashboard suite starts in its beforeAll: server, receiver, browser, a context with
 * the step timeout, a page, signed in if asked. `close()` stops it all, for its afterAll.
 */
export async function openDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const h = await startHarness(options.env);
  try {
    const context = await newLaptopContext(h.browser, h.server.baseUrl, options.context);
    context.setDefaultTimeout(options.stepTimeoutMs ?? 20_000);
    await options.prepareContext?.(context, h.server.baseUrl);
    const page = await context.newPage();
    options.preparePage?.(page);
    if (options.signInAt !== undefined) await signIn(page, h.server.apiKey, options.signInAt);
    return {
      ...h,
      context,
      page,
      close: async () => {
        await context.close().catch(() => undefined);
        await h.close();
      },
    };
  } catch (error) {
    await h.close();
    throw error;
  }
}

// ---- Network quiet --------------------------------------------------------------------------

const inFlight = new WeakMap<Page, { requests: Set<Request>; lastChange: number }>();

/**
 * Counts `page`'s requests in flight, for waitForQuiet; call it right after newPage(). The
 * delivery list keeps the live tail's stream open (docs/api.md#live-tail), so Playwright's
 * 'networkidle' never comes there: that one request is not counted.
 */
export function trackRequests(page: Page): void {
  const state = { requests: new Set<Request>(), lastChange: Date.now() };
  inFlight.set(page, state);
  const done = (r: Request) => {
    if (state.requests.delete(r)) state.lastChange = Date.now();
  };
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/deliveries/stream')) return;
    state.requests.add(r);
    state.lastChange = Date.now();
  });
  page.on('requestfinished', done);
  page.on('requestfailed', done);
}

/** 'networkidle' but for the live stream: no other request for `quietMs` (after trackRequests). */
export async function waitForQuiet(page: Page, quietMs = 500, timeoutMs = 20_000): Promise<void> {
  const state = inFlight.get(page);
  if (!state) throw new Error('call trackRequests(page) after newPage()');
  await page.waitForLoadState('load');
  await waitFor(
    'the network to be quiet',
    async () => state.requests.size === 0 && Date.now() - state.lastChange >= quietMs,
    timeoutMs,
  );
}
