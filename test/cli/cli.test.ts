import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';
import { startReceiver } from '../helpers/receiver.js';

describe('runhook CLI (real processes, SQLite)', () => {
  const children: Spawned[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(() => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
  });

  it('report and listen load no database driver; SQLite commands load better-sqlite3 but never pg', async () => {
    // NODE_DEBUG=module traces every CommonJS load, which both drivers are.
    const drivers = /node_modules\/(pg|better-sqlite3)\//g;
    const loaded = async (args: string[], env: Record<string, string> = {}) => {
      const p = runCli(args, { NODE_DEBUG: 'module', ...env });
      expect(await p.exited).toBe(0);
      return new Set([...p.output().matchAll(drivers)].map((m) => m[1]));
    };
    expect(await loaded(['report', '--help'])).toEqual(new Set());
    expect(await loaded(['listen', '--help'])).toEqual(new Set());
    const dir = mkdtempSync(join(tmpdir(), 'runhook-cli-'));
    expect(await loaded(['migrate'], { RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'r.db')}` })).toEqual(
      new Set(['better-sqlite3']),
    );
  });

  it('listen refuses a port that is not 0–65535 with a message naming the option, not a Node stack', async () => {
    for (const port of ['abc', '99999', '1.5']) {
      const p = runCli(['listen', '--port', port], {});
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(`option '--port <port>' argument '${port}' is invalid`);
      expect(p.output()).not.toMatch(/options\.port|ERR_SOCKET_BAD_PORT/);
    }
  });

  it('report exits 2 on a usage error commander finds (no --agent), before reading any file', async () => {
    const p = runCli(['report', 'missing.xml'], {});
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain("required option '--agent <name>' not specified");
  });

  it('a bad configuration value stops startup with a message naming the variable', async () => {
    const p = runCli(['serve'], { RUNHOOK_RETRY_JITTER: 'lots' });
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toContain('RUNHOOK_RETRY_JITTER');
  });

  it('orgs create prints {"org_id","api_key"} and migrate is idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runhook-cli-'));
    const env = { RUNHOOK_DATABASE_URL: `sqlite:${join(dir, 'r.db')}` };
    const m1 = runCli(['migrate'], env);
    expect(await m1.exited).toBe(0);
    expect(await runCli(['migrate'], env).exited).toBe(0);
    const created = runCli(['orgs', 'create', '--name', 'Acme'], env);
    expect(await created.exited).toBe(0);
    const json = JSON.parse(created.output().trim()) as { org_id: string; api_key: string };
    expect(Object.keys(json)).toEqual(['org_id', 'api_key']);
    expect(json.api_key).toMatch(/^sk_live_[A-Za-z0-9]{40}$/);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
  });

  it('first start creates ./data/runhook.db and an organization, prints its key once; finishing a run is delivered', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'runhook-start-'));
    const receiver = await startReceiver();
    try {
      const env = { RUNHOOK_PORT: '0', RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8', RUNHOOK_LOG_LEVEL: 'warn' };
      const serve = runCli(['serve'], env, cwd);
      children.push(serve);
      const out = await serve.waitForOutput(/sk_live_[A-Za-z0-9]{40}/);
      const key = /sk_live_[A-Za-z0-9]{40}/.exec(out)?.[0] as string;
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      expect(existsSync(join(cwd, 'data/runhook.db'))).toBe(true);
      const base = `http://127.0.0.1:${port}/api/v1`;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return (await res.json()) as any;
      };
      await call('POST', '/webhooks', {
        url: receiver.url,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      });
      const agent = await call('POST', '/agents', { name: 'CLI agent' });
      const run = await call('POST', '/runs', { agent_id: agent.id, status: 'completed', passed_count: 2 });
      await receiver.waitFor(1);
      expect(JSON.parse(receiver.requests[0]?.body ?? '{}').test_run.id).toBe(run.id);

      // A second start on the same data does not create another organization or print a key.
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
      const again = runCli(['serve'], env, cwd);
      children.push(again);
      const out2 = await again.waitForOutput('listening on');
      expect(out2).not.toMatch(/sk_live_/);
    } finally {
      await receiver.close();
    }
  });
});
