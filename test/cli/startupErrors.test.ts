/**
 * A start that cannot go on says which variable to change and never prints a secret's value
 * (docs/configuration.md). Real `runhook` processes, each in an empty folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenError } from '../../src/cli/serve.js';
import { ConfigError } from '../../src/config.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

const SECRET_KEY = 'startup-errors-test-secret-key-0123456789';

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
