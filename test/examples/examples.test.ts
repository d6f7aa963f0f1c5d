/**
 * Every receiver in examples/ runs as a user runs it — the file copied into an empty folder, the
 * SDK installed from its own tarball (or docs/python/verify_runhook.py copied next to it) — and
 * gets a real signed delivery from a real Runhook on each backend, through a recording proxy on
 * 127.0.0.1. The recorded request, tampered or replayed with an old timestamp, is refused with 400.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../sdk/index.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { ROOT } from '../helpers/cli.js';
import { FLASK_ENV } from '../helpers/environment.js';
import { freePort } from '../helpers/freePort.js';
import { installOffline, packSdk } from '../helpers/packages.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';
import { waitFor } from '../web/harness.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const work = mkdtempSync(join(tmpdir(), 'runhook-examples-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];

interface Example {
  name: string;
  /** The files a user copies: the example, and for Python the verifier. */
  files: string[];
  command: string[];
  node: boolean;
  needsFlask?: boolean;
}

const EXAMPLES: Example[] = [
  { name: 'express', files: ['examples/express/server.mjs'], command: ['node', 'server.mjs'], node: true },
  { name: 'fastify', files: ['examples/fastify/server.mjs'], command: ['node', 'server.mjs'], node: true },
  { name: 'hono', files: ['examples/hono/server.mjs'], command: ['node', 'server.mjs'], node: true },
  {
    name: 'python',
    files: ['examples/python/receiver.py', 'docs/python/verify_runhook.py'],
    command: ['python3', 'receiver.py'],
    node: false,
  },
  {
    name: 'flask',
    files: ['examples/flask/app.py', 'docs/python/verify_runhook.py'],
    command: ['python3', 'app.py'],
    node: false,
    needsFlask: true,
  },
];

/** The framework packages the Node examples import, linked from this checkout's devDependencies. */
const FRAMEWORKS = ['express', 'fastify', 'hono', '@hono/node-server'];

const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

interface Answer {
  status: number;
  body: string;
}

/** POSTs to the example directly (what a replaying attacker would do). */
function post(port: number, recorded: IncomingHttpHeaders, body: Buffer): Promise<Answer> {
  // Content-Length follows the body actually sent (a tampered body may differ in length).
  const { 'content-length': _, ...headers } = recorded;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/webhooks/runhook', method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Recorded {
  headers: IncomingHttpHeaders;
  body: Buffer;
  answer: Answer;
}

/** A proxy on 127.0.0.1 that forwards to the example and records each request and its answer. */
async function recordingProxy(
  targetPort: number,
): Promise<{ url: string; seen: Recorded[]; server: Server }> {
  const seen: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const answer = await post(targetPort, headers, body);
      seen.push({ headers, body, answer });
      res.writeHead(answer.status).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${port}/webhooks/runhook`, seen, server };
}

let nodeDir: string;
const servers = new Map<string, RealServer>();

beforeAll(async () => {
  // The Node examples' project: @runhook/sdk installed from its tarball, the frameworks linked.
  nodeDir = join(work, 'node');
  const sdk = packSdk(work);
  installOffline(nodeDir, [sdk.tarball]);
  mkdirSync(join(nodeDir, 'node_modules', '@hono'), { recursive: true });
  for (const name of FRAMEWORKS)
    symlinkSync(join(ROOT, 'node_modules', name), join(nodeDir, 'node_modules', name));

  // One server per backend, started side by side.
  await Promise.all(
    backends.map(async (backend) => {
      const db: TestDatabase = await backend.create();
      const server = await startRealServer(backend.name === 'sqlite' ? {} : { databaseUrl: db.url });
      servers.set(backend.name, server);
      cleanups.push(async () => {
        await server.stop();
        await db.drop();
      });
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

for (const example of EXAMPLES) {
  const flaskMissing = example.needsFlask === true && !process.env[FLASK_ENV];
  describe.skipIf(flaskMissing)(`examples/${example.name}`, () => {
    let port: number;
    let child: ChildProcess;
    let output = '';

    beforeAll(async () => {
      const dir = example.node ? join(nodeDir, example.name) : join(work, example.name);
      mkdirSync(dir, { recursive: true });
      for (const file of example.files) copyFileSync(join(ROOT, file), join(dir, file.split('/').pop()!));
      port = await freePort();
      child = spawn(example.command[0]!, example.command.slice(1), {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', RUNHOOK_WEBHOOK_SECRET: SECRET, PORT: String(port) },
        stdio: 'pipe',
      });
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      cleanups.push(() => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        return new Promise((resolve) => child.once('exit', resolve));
      });
      await waitFor(
        `examples/${example.name} to listen`,
        async () => (child.exitCode !== null ? 'exited' : await accepting(port)),
        30_000,
      );
      expect(child.exitCode, output).toBeNull();
    }, 60_000);

    for (const backend of backends) {
      it(`verifies a real delivery from Runhook on ${backend.name}, refuses it tampered or replayed late`, async () => {
        const server = servers.get(backend.name)!;
        const proxy = await recordingProxy(port);
        const agent = await server.api('POST', '/agents', { name: `${example.name} receiver` });
        expect(agent.status).toBe(201);
        const hook = await server.api('POST', '/webhooks', {
          agent_id: agent.json.id,
          url: proxy.url,
          secret: SECRET,
        });
        expect(hook.status, JSON.stringify(hook.json)).toBe(201);
        const run = await server.api('POST', '/runs', {
          agent_id: agent.json.id,
          name: `Nightly via ${example.name}`,
          status: 'completed',
          passed_count: 9,
          failed_count: 1,
        });
        expect(run.status).toBe(201);

        // Runhook's own delivery: verified by the example, 204, and the delivery succeeded.
        await waitFor('the delivery to reach the example', () => proxy.seen.length > 0, 30_000);
        const [delivered] = proxy.seen;
        expect(delivered!.answer, output).toEqual({ status: 204, body: '' });
        await waitFor('the example to log the event', () =>
          output.includes(`received test_run_completed ${run.json.test_run_id} completed`),
        );
        await waitFor('the delivery to be marked succeeded', async () => {
          const list = await server.api('GET', `/deliveries?test_run_id=${run.json.id}`);
          return list.json.deliveries[0]?.status === 'succeeded';
        });

        // The same request replayed at once still verifies (within the 5-minute window) ...
        expect((await post(port, delivered!.headers, delivered!.body)).status).toBe(204);
        // ... a changed body does not ...
        const tampered = Buffer.from(
          delivered!.body.toString('utf8').replace('"passed_count":9', '"passed_count":10'),
        );
        expect(tampered.equals(delivered!.body)).toBe(false);
        const refused = await post(port, delivered!.headers, tampered);
        expect(refused.status).toBe(400);
        expect(refused.body).toMatch(/no webhook-signature entry matches/i);
        // ... nor does a correctly signed one whose timestamp is 10 minutes old.
        const id = String(delivered!.headers['webhook-id']);
        const old = Math.floor(Date.now() / 1000) - 600;
        const late = await post(
          port,
          {
            ...delivered!.headers,
            'webhook-timestamp': String(old),
            'webhook-signature': signStandardWebhook(SECRET, id, old, delivered!.body),
          },
          delivered!.body,
        );
        expect(late.status).toBe(400);
        expect(late.body).toMatch(/webhook-timestamp is \d+ s in the past/);
      }, 90_000);
    }
  });
}
