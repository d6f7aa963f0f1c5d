/**
 * The two packages as a user gets them: `npm pack` → `npm install -g` → `runhook serve` in an empty
 * folder, and `npm pack ./sdk` installed alone into another empty folder, whose receiver verifies a
 * real delivery from that server. See docs/installing.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/freePort.js';
import { installOffline, installServerGlobally, npmEnv, packSdk, packServer } from '../helpers/packages.js';
import { waitFor } from '../web/harness.js';

const work = mkdtempSync(join(tmpdir(), 'runhook-install-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  rmSync(work, { recursive: true, force: true });
}, 30_000);

/** Starts a process and collects what it prints. */
function start(command: string, args: string[], cwd: string, env: Record<string, string>) {
  const child = spawn(command, args, { cwd, env: npmEnv(env), stdio: 'pipe' });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return { child, output: () => output };
}

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

describe('npm pack → install → run', () => {
  let server: { tarball: string; files: string[] };
  let sdk: { tarball: string; files: string[] };

  beforeAll(() => {
    server = packServer(work);
    sdk = packSdk(work);
  }, 240_000);

  it('the server tarball holds the built CLI, dashboard, migrations and SDK, and no tests or sources', () => {
    const { files } = server;
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/bin/runhook.js',
        'dist/src/store/migrations/0001_initial.js',
        'dist/web/index.html',
        'dist/sdk/index.js',
        'dist/sdk/index.d.ts',
        'docs/python/verify_runhook.py',
      ]),
    );
    expect(files.some((f) => f.startsWith('dist/web/assets/') && f.endsWith('.js'))).toBe(true);
    const unwanted = files.filter((f) =>
      /^(dist\/(test|bench)\/|src\/|test\/|sdk\/|web\/)|\.map$|\.test\.|node_modules/.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it('the SDK tarball is compiled JS and .d.ts with no dependencies', () => {
    expect(sdk.files.sort()).toEqual(
      [
        'LICENSE',
        'README.md',
        'package.json',
        ...['index', 'publicKey', 'signatures', 'signingKey', 'standardWebhooks', 'types'].flatMap((m) => [
          `dist/${m}.d.ts`,
          `dist/${m}.js`,
        ]),
      ].sort(),
    );
    const manifest = JSON.parse(readFileSync(join(ROOT, 'sdk/package.json'), 'utf8'));
    expect(manifest.name).toBe('@runhook/sdk');
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('installs globally without engine warnings, serves from an empty folder into ./data there, and the SDK alone verifies its delivery', async () => {
    const prefix = join(work, 'prefix');
    const installLog = installServerGlobally(prefix, server.tarball);
    expect(installLog).not.toMatch(/EBADENGINE|ERR!/);
    const bin = join(prefix, 'bin', 'runhook');
    expect(existsSync(bin)).toBe(true);

    // The receiver's project: only @runhook/sdk, installed from its tarball with no registry.
    const receiverDir = join(work, 'receiver');
    installOffline(receiverDir, [sdk.tarball]);
    expect(readdirSync(join(receiverDir, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual([
      '@runhook',
    ]);
    writeFileSync(
      join(receiverDir, 'receiver.mjs'),
      `import { createServer } from 'node:http';
import { verifyWebhook } from '@runhook/sdk';
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const event = verifyWebhook(Buffer.concat(chunks), req.headers, process.env.RUNHOOK_WEBHOOK_SECRET);
      console.log('verified ' + event.event + ' ' + event.test_run.test_run_id);
      res.writeHead(204).end();
    } catch (error) {
      console.log('refused ' + error.message);
      res.writeHead(400).end();
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`,
    );
    // TypeScript users get the types from the package's exports alone.
    writeFileSync(
      join(receiverDir, 'consumer.ts'),
      `import { type RunhookEvent, verifyWebhook, WebhookVerificationError } from '@runhook/sdk';
export function check(body: string, headers: Record<string, string>): RunhookEvent | string {
  try {
    const event = verifyWebhook(body, headers, ['whsec_old', 'whsec_new'], { toleranceSeconds: 60 });
    return event.event === 'test_run_completed' ? event.test_run.test_run_id : event;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.message;
    throw error;
  }
}
`,
    );
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        ...['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...['--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types')],
        'consumer.ts',
      ],
      { cwd: receiverDir, encoding: 'utf8' },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const receiver = start(process.execPath, ['receiver.mjs'], receiverDir, {
      RUNHOOK_WEBHOOK_SECRET: SECRET,
    });
    const receiverPort = await waitFor('the receiver', () => receiver.output().match(/port (\d+)/)?.[1]);

    // The server, from the global install, in an empty folder.
    const home = join(work, 'empty');
    mkdirSync(home);
    const port = await freePort();
    const serve = start(bin, ['serve'], home, {
      RUNHOOK_PORT: String(port),
      RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
      RUNHOOK_LOG_LEVEL: 'warn',
    });
    const apiKey = await waitFor(
      'runhook serve to print its key',
      () => serve.output().match(/sk_live_[A-Za-z0-9]+/)?.[0] ?? (serve.child.exitCode !== null && 'exited'),
      60_000,
    );
    expect(apiKey, serve.output()).toMatch(/^sk_live_/);
    expect(existsSync(join(home, 'data', 'runhook.db'))).toBe(true);

    const base = `http://127.0.0.1:${port}`;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    // The dashboard and its assets come out of the package.
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script[^>]+src="\/assets\//);

    await api('POST', '/webhooks', { url: `http://127.0.0.1:${receiverPort}/hook`, secret: SECRET });
    const agent = await api('POST', '/agents', { name: 'Packaged' });
    const run = await api('POST', '/runs', {
      agent_id: agent.id,
      name: 'From the tarball',
      status: 'completed',
      passed_count: 2,
      failed_count: 0,
    });
    await waitFor('the delivery to verify', () => receiver.output().includes('verified'), 30_000);
    expect(receiver.output()).toContain(`verified test_run_completed ${run.test_run_id}`);
    expect(receiver.output()).not.toContain('refused');

    // The server package still exports the SDK as runhook/sdk.
    const check = join(prefix, 'lib', 'check.mjs');
    writeFileSync(
      check,
      "import { verifyWebhook, signStandardWebhook } from 'runhook/sdk';\nconsole.log(typeof verifyWebhook, typeof signStandardWebhook);\n",
    );
    const exported = start(process.execPath, [check], join(prefix, 'lib'), {});
    await new Promise((resolve) => exported.child.once('exit', resolve));
    expect(exported.output().trim()).toBe('function function');
  }, 300_000);
});
