import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StreamRefused } from '../../src/cli/eventStream.js';
import { tailAttempts } from '../../src/cli/tail.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun } from '../delivery/support.js';
import { backends, sqliteBackend } from '../helpers/backends.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { Receiver } from '../helpers/receiver.js';

async function listen(ctx: TestContext): Promise<string> {
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
}

for (const backend of backends) {
  describe(`runhook tail [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let base: string;
    let stop: AbortController;
    let lines: string[];
    let notes: string[];
    let tail: Promise<void>;
    const start = (extra: { webhookId?: string; failed?: boolean; apiKey?: string } = {}) => {
      tail = tailAttempts({
        apiUrl: `${base}/api/v1`,
        apiKey: ctx.apiKey,
        write: (line) => lines.push(line),
        note: (line) => notes.push(line),
        signal: stop.signal,
        reconnectDelayMs: 100,
        ...extra,
      });
      return eventually(async () => notes.some((n) => n.startsWith('connected')), 5_000, 'tail to connect');
    };
    beforeEach(async () => {
      ctx = await createTestContext(backend, { worker: true });
      receiver = await new Receiver().start();
      base = await listen(ctx);
      stop = new AbortController();
      lines = [];
      notes = [];
      tail = Promise.resolve();
    });
    afterEach(async () => {
      stop.abort();
      await tail.catch(() => {});
      await ctx.close();
      await receiver.close();
    });

    it('prints a line per attempt and picks up after a dropped connection', async () => {
      const agent = await createAgent(ctx);
      const hook = await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      await start();
      const first = await deliveryOfRun(ctx, (await finishedRun(ctx, agent)).id);
      await eventually(async () => lines.length === 1, 5_000, 'the first line');
      expect(lines[0]).toMatch(
        new RegExp(
          `^\\d{4}-\\d\\d-\\d\\dT\\S+Z  ${first.id}  ${hook.id}  scheduled  succeeded  200 +\\d+ms  -$`,
        ),
      );

      // The server drops every connection; an attempt is recorded before the tail is back.
      ctx.app.server.closeAllConnections();
      const second = await deliveryOfRun(ctx, (await finishedRun(ctx, agent)).id);
      await eventually(async () => lines.length >= 2, 5_000, 'the line recorded while away');
      await eventually(async () => notes.includes('reconnected'), 5_000, 'a reconnect');
      await new Promise((r) => setTimeout(r, 300));
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain(second.id);
    });

    it('--failed prints only attempts that did not deliver', async () => {
      const gone = await new Receiver().start();
      gone.behaviour = { kind: 'status', status: 410 };
      try {
        const okAgent = await createAgent(ctx, 'ok');
        const goneAgent = await createAgent(ctx, 'gone');
        await createWebhook(ctx, { url: receiver.url, agent_id: okAgent });
        const goneHook = await createWebhook(ctx, { url: gone.url, agent_id: goneAgent });
        await start({ failed: true });
        await finishedRun(ctx, okAgent);
        await finishedRun(ctx, goneAgent);
        await receiver.waitFor(1);
        await eventually(async () => lines.length === 1, 5_000, 'the failed line');
        await new Promise((r) => setTimeout(r, 300));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`  ${goneHook.id}  scheduled  failed +410 .* http_status$`));
      } finally {
        await gone.close();
      }
    });

    it('stops on a refused key', async () => {
      await expect(
        tailAttempts({
          apiUrl: base,
          apiKey: 'sk_live_wrong',
          write: () => {},
          note: () => {},
          reconnectDelayMs: 100,
        }),
      ).rejects.toBeInstanceOf(StreamRefused);
    });
  });
}

describe('runhook tail (the command)', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('prints the attempts of a run finished while it runs', async () => {
    const ctx = await createTestContext(sqliteBackend, { worker: true });
    const receiver = await new Receiver().start();
    const cli = runCli(['tail', '--api-url', await listen(ctx)], { RUNHOOK_API_KEY: ctx.apiKey });
    try {
      await cli.waitForOutput('connected');
      const agent = await createAgent(ctx);
      await createWebhook(ctx, { url: receiver.url, agent_id: agent });
      const delivery = await deliveryOfRun(ctx, (await finishedRun(ctx, agent)).id);
      await cli.waitForOutput(new RegExp(`${delivery.id} .* succeeded +200`));
    } finally {
      cli.child.kill('SIGINT');
      expect(await cli.exited).toBe(0);
      await ctx.close();
      await receiver.close();
    }
  }, 60_000);
});
