/**
 * `runhook listen`, end to end: a real Runhook (on each backend) delivers to `runhook listen
 * --forward-to`, which passes each verified delivery on to a local app on 127.0.0.1 and answers
 * Runhook with the app's status. Forged deliveries are not forwarded; an app that is down is a 502.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook, verifyWebhook } from '../../sdk/index.js';
import { backends } from '../helpers/backends.js';
import { runCli, type Spawned } from '../helpers/cli.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';
import { waitFor } from '../web/harness.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The developer's local app: records each request and answers with the next programmed answer. */
async function startApp() {
  const seen: Seen[] = [];
  let answer = { status: 200, body: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    seen,
    url: `http://127.0.0.1:${port}/hooks/runhook`,
    answer: (status: number, body: string) => {
      answer = { status, body };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startListen(args: string[]): Promise<{ listen: Spawned; url: string }> {
  const listen = runCli(['listen', '--port', '0', ...args], {});
  const out = await listen.waitForOutput(/waiting for deliveries on http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = /127\.0\.0\.1:(\d+)\//.exec(out)![1];
  return { listen, url: `http://127.0.0.1:${port}/` };
}

function stop(spawned: Spawned) {
  if (spawned.child.exitCode === null) spawned.child.kill('SIGTERM');
  return spawned.exited;
}

function signed(body: string, id = 'msg_forward_1', timestamp = Math.floor(Date.now() / 1000)) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(SECRET, id, timestamp, body),
  };
}

describe('runhook listen --forward-to', () => {
  for (const backend of backends) {
    describe(`from a real Runhook on ${backend.name}`, () => {
      let server: RealServer;
      let app: Awaited<ReturnType<typeof startApp>>;
      let listen: Spawned;
      let drop: () => Promise<void>;

      beforeAll(async () => {
        const db = await backend.create();
        drop = db.drop;
        server = await startRealServer(backend.name === 'sqlite' ? {} : { databaseUrl: db.url });
        app = await startApp();
        const started = await startListen(['--secret', SECRET, '--forward-to', app.url]);
        listen = started.listen;
        const hook = await server.api('POST', '/webhooks', {
          url: `${started.url}webhook`,
          secret: SECRET,
          headers: { 'X-Team': 'qa' },
        });
        expect(hook.status, JSON.stringify(hook.json)).toBe(201);
      }, 60_000);

      afterAll(async () => {
        if (listen) await stop(listen);
        await app?.close();
        await server?.stop();
        await drop?.();
      }, 30_000);

      async function finishRun(name: string) {
        const agent = await server.api('POST', '/agents', { name: `${name} agent` });
        const run = await server.api('POST', '/runs', {
          agent_id: agent.json.id,
          name,
          status: 'completed',
          passed_count: 4,
          failed_count: 1,
        });
        expect(run.status).toBe(201);
        return run.json as { id: string; test_run_id: string };
      }

      async function deliveryOf(runId: string, until: (d: Record<string, unknown>) => boolean) {
        return waitFor(`the delivery of ${runId}`, async () => {
          const list = await server.api('GET', `/deliveries?test_run_id=${runId}`);
          const delivery = list.json.deliveries[0] as Record<string, unknown> | undefined;
          return delivery && until(delivery) ? delivery : undefined;
        });
      }

      it("forwards the delivery byte for byte with its headers, and Runhook records the app's answer", async () => {
        app.answer(202, '{"queued":true}');
        const run = await finishRun('Forwarded');
        await waitFor('the app to get the delivery', () => app.seen.length === 1);
        const [request] = app.seen;
        expect(request!.method).toBe('POST');
        expect(request!.url).toBe('/hooks/runhook');
        // Still verifiable by the app itself: same bytes, same signature headers.
        const event = verifyWebhook(request!.body, request!.headers, SECRET) as {
          test_run: { test_run_id: string };
        };
        expect(event.test_run.test_run_id).toBe(run.test_run_id);
        expect(request!.headers).toMatchObject({
          'content-type': 'application/json',
          'x-team': 'qa',
          'webhook-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
          'x-runhook-signature': expect.stringMatching(/^sha256=/),
        });
        expect(request!.headers['user-agent']).toMatch(/^Runhook\//);

        const delivery = await deliveryOf(run.id, (d) => d.status === 'succeeded');
        expect(delivery.last_http_status).toBe(202);
        await listen.waitForOutput(`-> ${app.url}  202 Accepted`);
        expect(listen.output()).toContain('{"queued":true}');
        expect(listen.output()).toContain(`run=${run.test_run_id}`);
      });

      it("passes the app's failure back, so Runhook retries", async () => {
        app.answer(500, '{"error":"database down"}');
        const run = await finishRun('App failing');
        const delivery = await deliveryOf(run.id, (d) => d.attempt_count === 1);
        expect(delivery).toMatchObject({ status: 'pending', last_http_status: 500 });
        expect(delivery.next_attempt_at).not.toBeNull();
        await listen.waitForOutput(`-> ${app.url}  500 Internal Server Error`);
        expect(listen.output()).toContain('database down');
      });
    });
  }

  it('answers 400 and forwards nothing when the signature does not verify; 502 when the app is down', async () => {
    const app = await startApp();
    const { listen, url } = await startListen(['--secret', SECRET, '--forward-to', app.url]);
    try {
      const body = '{"event":"test_run_completed","test_run":{"id":"r1"}}';
      const forged = await fetch(url, {
        method: 'POST',
        headers: signed(body),
        body: body.replace('r1', 'r2'),
      });
      expect(forged.status).toBe(400);
      expect(await forged.text()).toMatch(/not forwarded.*No webhook-signature entry matches/);
      const unsigned = await fetch(url, { method: 'POST', body });
      expect(unsigned.status).toBe(400);
      expect(app.seen).toHaveLength(0);
      expect(listen.output()).toContain('not forwarded');

      await app.close();
      const down = await fetch(url, { method: 'POST', headers: signed(body), body });
      expect(down.status).toBe(502);
      expect(await down.text()).toMatch(/could not reach .*ECONNREFUSED/);
      await listen.waitForOutput(/FAILED after \d+ ms: ECONNREFUSED/);
    } finally {
      await stop(listen);
    }
  });

  it('without --forward-to answers 200 and prints each signature verdict', async () => {
    const { listen, url } = await startListen(['--secret', SECRET]);
    try {
      const body = '{"event":"test","test_run":{"test_run_id":"TR-00000"}}';
      const res = await fetch(url, { method: 'POST', headers: signed(body), body });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true });
      await listen.waitForOutput('signatures: webhook-signature: ok');
    } finally {
      await stop(listen);
    }
  });

  it('refuses a --forward-to that is not an http(s) URL', async () => {
    const listen = runCli(['listen', '--port', '0', '--forward-to', 'ftp://example.test/'], {});
    expect(await listen.exited).not.toBe(0);
    expect(listen.output()).toMatch(/--forward-to.*http:\/\/ or https:\/\//);
  });
});
