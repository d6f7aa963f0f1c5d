/**
 * A start that cannot go on says which variable to change and never prints a secret's value
 * (docs/configuration.md). Real `runhook` processes, each in an empty folder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenError } from '../../src/cli/serveProcess.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { CLI, ensureBuilt, runCli } from '../helpers/cli.js';

const SECRET_KEY = 'startup-errors-test-secret-key-0123456789';

/** Text found only in a package's own code: a bundled chunk that contains it holds the package. */
const MARKERS = {
  fastify: 'FST_ERR_CTP_ALREADY_PRESENT',
  kysely: 'class Kysely extends',
  ajv: 'strictSchema',
  'prom-client': 'process_cpu_user_seconds_total',
};

describe('startup errors (real processes)', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'runhook-startup-'));
  }, 120_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `runhook serve` (or another command) to its end in an empty folder. */
  async function start(env: Record<string, string>, args = ['serve']) {
    const p = runCli(args, { RUNHOOK_LOG_LEVEL: 'warn', RUNHOOK_PORT: '0', ...env }, dir);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
    const code = await p.exited;
    clearTimeout(timer);
    return { code, out: p.output() };
  }

  it.each([
    ['RUNHOOK_SECRET_KEY', 'short-Marker7731', /RUNHOOK_SECRET_KEY: must be at least 32 characters/],
    ['RUNHOOK_BOOTSTRAP_API_KEY', 'sk_live_Marker7731', /RUNHOOK_BOOTSTRAP_API_KEY: must be sk_live_/],
    [
      'RUNHOOK_ALERT_URL',
      'ftp://hooks.example.com/services/T0/Marker7731',
      /RUNHOOK_ALERT_URL: must be an http/,
    ],
    ['RUNHOOK_ALERT_SECRET', 'Marker7', /RUNHOOK_ALERT_SECRET: must be 8 to 256/],
  ])('a bad %s is named, and its value is not printed', async (name, value, message) => {
    const { code, out } = await start({ [name]: value });
    expect(code).toBe(78);
    expect(out).toMatch(message);
    expect(out).toContain('not shown');
    expect(out).not.toContain('Marker7');
  });

  it('a bad RUNHOOK_DATABASE_URL is shown without its password', async () => {
    const { code, out } = await start({ RUNHOOK_DATABASE_URL: 'mysql://runhook:Marker7731@db.example/x' });
    expect(code).toBe(78);
    expect(out).toContain('RUNHOOK_DATABASE_URL: must start with sqlite: or postgres://');
    expect(out).toContain('mysql://runhook:***@db.example/x');
    expect(out).not.toContain('Marker7731');
  });

  it('a malformed PostgreSQL URL exits 78 naming RUNHOOK_DATABASE_URL, never the password', async () => {
    for (const url of [
      'postgres://runhook:pa/Marker7731@127.0.0.1:5432/runhook',
      'postgres://runhook:pa#Marker7731@127.0.0.1:5432/runhook',
      'postgres://runhook:Marker7731@127.0.0.1:54x/runhook',
    ]) {
      const { code, out } = await start({ RUNHOOK_DATABASE_URL: url, RUNHOOK_SECRET_KEY: SECRET_KEY });
      expect(code, out).toBe(78);
      expect(out).toContain('RUNHOOK_DATABASE_URL: is not a valid URL');
      expect(out).not.toContain('Marker7731');
      expect(out).not.toContain('Invalid URL');
    }
  });

  it('a RUNHOOK_METRICS_TOKEN with whitespace is refused at start, its value not shown', async () => {
    for (const token of ['Marker7731 extra', 'Marker7731\n', ' ']) {
      const { code, out } = await start({
        RUNHOOK_METRICS_TOKEN: token,
        RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'm.db')}`,
      });
      expect(code).toBe(78);
      expect(out).toContain('RUNHOOK_METRICS_TOKEN: must not contain whitespace');
      expect(out).not.toContain('Marker7731');
    }
  });

  // One bad value for every variable loadConfig reads: each start exits 78 naming it, for `serve`
  // and `worker` alike.
  const BAD: Array<[string, string]> = [
    ['RUNHOOK_DATABASE_URL', 'mysql://x'],
    ['RUNHOOK_HOST', 'my laptop'],
    ['RUNHOOK_PORT', '80800'],
    ['RUNHOOK_PUBLIC_URL', 'not a url'],
    ['RUNHOOK_BOOTSTRAP_API_KEY', 'sk_live_short'],
    ['RUNHOOK_RETRY_SCHEDULE', '1m,5 parsecs'],
    ['RUNHOOK_RETRY_JITTER', '1.5'],
    ['RUNHOOK_ATTEMPT_TIMEOUT', '15'],
    ['RUNHOOK_WORKER_CONCURRENCY', '0'],
    ['RUNHOOK_WEBHOOK_CONCURRENCY', '2.5'],
    ['RUNHOOK_ORG_CONCURRENCY', '0'],
    ['RUNHOOK_ALLOWED_CIDRS', '127.0.0.0/33'],
    ['RUNHOOK_SECRET_KEY', 'too-short'],
    ['RUNHOOK_LOG_LEVEL', 'loud'],
    ['RUNHOOK_METRICS_TOKEN', 'two words'],
    ['RUNHOOK_CLAIM_LEASE', '1h'],
    ['RUNHOOK_RATE_LIMIT', '-1'],
    ['RUNHOOK_DEGRADED_AFTER', '0'],
    ['RUNHOOK_DISABLE_AFTER_FAILURES', '-1'],
    ['RUNHOOK_DISABLE_AFTER', '24'],
    ['RUNHOOK_PROBE_SCHEDULE', '10m,,1h'],
    ['RUNHOOK_ALERT_URL', 'ftp://alerts.example.com'],
    ['RUNHOOK_ALERT_SECRET', 'short'],
    ['RUNHOOK_ALERT_FORMAT', 'teams'],
    ['RUNHOOK_ALERT_INTERVAL', '15'],
    ['RUNHOOK_RETENTION', '30'],
    ['RUNHOOK_MANUAL_SEND_LIMIT', '0'],
    ['RUNHOOK_MAX_RESULTS', 'many'],
    ['RUNHOOK_RESULTS_RETENTION', '30'],
    ['RUNHOOK_GROUP_WINDOW', '2'],
  ];

  it('covers every variable loadConfig reads', () => {
    const looked = new Set<string>();
    const spy = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_t, name) => {
          if (typeof name === 'string') looked.add(name);
          return undefined;
        },
      },
    );
    loadConfig(spy);
    expect(BAD.map(([name]) => name).sort()).toEqual([...looked].sort());
  });

  it('every variable with a bad value: exit 78 and its name, for serve and worker', async () => {
    // Every variable through serve; the worker reads the same loadConfig() and main.ts turns its
    // ConfigError into exit 78 the same way, so every eighth variable proves that path for it
    // (each value's own check is test/config.test.ts).
    const runs = [
      ...BAD.map(([name, value]) => ({ name, value, command: 'serve' })),
      ...BAD.filter((_, i) => i % 8 === 0).map(([name, value]) => ({ name, value, command: 'worker' })),
    ];
    // A few at a time: each is a short-lived process.
    for (let i = 0; i < runs.length; i += 6) {
      await Promise.all(
        runs.slice(i, i + 6).map(async ({ name, value, command }) => {
          const { code, out } = await start(
            { RUNHOOK_DATABASE_URL: `sqlite:${join(dir, `bad-${i}.db`)}`, [name]: value },
            [command],
          );
          expect(code, `${command} ${name}=${value}: ${out}`).toBe(78);
          expect(out).toContain(`runhook: configuration error: ${name}`);
        }),
      );
    }
  }, 120_000);

  /**
   * A module to pass to `node --import`: it makes loading any of `packages` fail, naming it, whether
   * it is imported by name or comes inside a chunk of the bundled command (dist/bin), which holds
   * the package's code: a chunk is refused when it contains the package's marker.
   */
  function refusing(file: string, packages: Array<keyof typeof MARKERS>): string {
    const hook = join(dir, file);
    const markers = packages.map((name) => [name, MARKERS[name]]);
    const refuse = [
      `export async function resolve(s, c, next) { if (${JSON.stringify(packages)}.includes(s)) throw new Error("loaded " + s); return next(s, c); }`,
      `export async function load(url, c, next) { const r = await next(url, c); const text = r.source ? String(r.source) : "";`,
      ` for (const [name, marker] of ${JSON.stringify(markers)}) if (text.includes(marker)) throw new Error("loaded " + name); return r; }`,
    ].join('\n');
    writeFileSync(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuse)}));\n`,
    );
    return hook;
  }

  /** Runs `runhook <command>` under `hook` to its end, or until it prints `stopAt` (then SIGTERM). */
  const runHooked = (hook: string, command: string, env: Record<string, string>, stopAt?: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', hook, CLI, command], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'hook.db')}`, ...env },
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      let out = '';
      let stopped = false;
      const onData = (d: Buffer) => {
        out += d.toString();
        // Once: a second SIGTERM would end the process at once, before its clean stop.
        if (stopAt !== undefined && !stopped && out.includes(stopAt)) {
          stopped = true;
          child.kill('SIGTERM');
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });

  it('a bad variable stops serve and worker before Fastify or Kysely is loaded', async () => {
    // A start that loads the server's modules before reading its configuration exits 1 naming
    // the package, not 78.
    const hook = refusing('refuse-server.mjs', ['fastify', 'kysely']);
    const [serve, worker, valid] = await Promise.all([
      runHooked(hook, 'serve', { RUNHOOK_CLAIM_LEASE: '1h' }),
      runHooked(hook, 'worker', { RUNHOOK_CLAIM_LEASE: '1h' }),
      // The hook works: a valid configuration goes on to load Fastify and fails there.
      runHooked(hook, 'serve', { RUNHOOK_PORT: '0' }),
    ]);
    for (const { code, out } of [serve, worker]) {
      expect(code, out).toBe(78);
      expect(out).toContain('runhook: configuration error: RUNHOOK_CLAIM_LEASE');
    }
    expect(valid.code, valid.out).toBe(1);
    expect(valid.out).toMatch(/loaded (fastify|kysely)/);
  });

  it('a worker starts without loading Fastify, its validator or its metrics; a SIGTERM on its started line stops it cleanly', async () => {
    const hook = refusing('refuse-http.mjs', ['fastify', 'ajv', 'prom-client']);
    const { code, out } = await runHooked(
      hook,
      'worker',
      { RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'worker.db')}` },
      'started (sqlite)',
    );
    expect(out).toMatch(/Runhook worker \S+ started \(sqlite\)/);
    expect(out).not.toMatch(/loaded (fastify|ajv|prom-client)/);
    expect(out).toContain('shutting down');
    expect(code, out).toBe(0);
  });

  it('a PostgreSQL that cannot be reached names RUNHOOK_DATABASE_URL, without the password', async () => {
    const { code, out } = await start({
      RUNHOOK_DATABASE_URL: 'postgres://runhook:Marker7731@127.0.0.1:1/runhook',
      RUNHOOK_SECRET_KEY: SECRET_KEY,
    });
    expect(code).toBe(78);
    expect(out).toMatch(
      /RUNHOOK_DATABASE_URL: cannot reach PostgreSQL at postgres:\/\/runhook:\*\*\*@127\.0\.0\.1:1/,
    );
    expect(out).not.toContain('Marker7731');
  });

  it('a RUNHOOK_HOST that is no host name is refused before anything starts', async () => {
    const { code, out } = await start({
      RUNHOOK_HOST: 'my laptop',
      RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'a.db')}`,
    });
    expect(code).toBe(78);
    expect(out).toContain('RUNHOOK_HOST: must be an IP address of this machine');
  });

  it('a RUNHOOK_HOST that is not an address of this machine is named, not a bare socket error', async () => {
    // 192.0.2.1 is TEST-NET-1: never assigned to a machine, and binding to it sends nothing.
    const { code, out } = await start({
      RUNHOOK_HOST: '192.0.2.1',
      RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'b.db')}`,
    });
    expect(code).toBe(78);
    expect(out).toContain('RUNHOOK_HOST: 192.0.2.1 is not an address of this machine');
    expect(out).not.toContain('listen EADDRNOTAVAIL');
    // Nothing was created: no organization, so no key was printed.
    expect(out).not.toMatch(/sk_live_[A-Za-z0-9]{40}/);
  });

  it('a RUNHOOK_PORT in use is named', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const { code, out } = await start({
        RUNHOOK_HOST: '127.0.0.1',
        RUNHOOK_PORT: String(port),
        RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'c.db')}`,
      });
      expect(code).toBe(78);
      expect(out).toContain(`RUNHOOK_PORT: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      taken.close();
    }
  });

  it('a host name that does not resolve is a RUNHOOK_HOST error, not getaddrinfo ENOTFOUND', () => {
    // Resolving a real unknown name would query this machine's DNS server, which tests do not
    // touch; the mapping of the resolver's answer is checked on the error Node gives.
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      const err = Object.assign(new Error(`getaddrinfo ${code} runhook.invalid`), { code });
      const mapped = listenError(err, { host: 'runhook.invalid', port: 8080 });
      expect(mapped).toBeInstanceOf(ConfigError);
      expect(mapped.message).toMatch(
        /^RUNHOOK_HOST: "runhook\.invalid" is neither an IP address nor a host name/,
      );
    }
  });
});
