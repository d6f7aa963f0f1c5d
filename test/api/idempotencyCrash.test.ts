/**
 * An Idempotency-Key answer survives the death of the process that gave it (docs/api.md#idempotency):
 * it is written in the transaction of the run, agent or webhook it created (or the finish it
 * made), so no object can be committed without its answer.
 *
 * 1. In process, on both backends: a process that "dies" right after the commit (its late
 *    answer-keeping step never runs) and a retry once the key's lock has run out: the retry gets
 *    the first answer replayed and nothing is created twice, on every keyed route.
 * 2. With real `runhook serve` child processes SIGKILLed three times while 300 keyed POST /runs
 *    are sent and retried: exactly 300 runs.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { Store } from '../../src/store/store.js';
import { wrapStoreMethod } from '../delivery/support.js';
import { backends } from '../helpers/backends.js';
import { ensureBuilt, runCli, type Spawned } from '../helpers/cli.js';
import { createTestContext, eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import { freePort } from '../helpers/freePort.js';
import { openRawSql } from '../helpers/rawSql.js';

const LOCK_RUNS_OUT = 11_000;

beforeAll(() => ensureBuilt(), 120_000);

for (const backend of backends) {
  describe(`Idempotency-Key answers survive a crash [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const children: Spawned[] = [];
    afterEach(async () => {
      for (const p of children.splice(0)) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
        await p.exited;
      }
      await ctx?.close();
      ctx = undefined;
    });

    const count = async (c: TestContext, table: string) => {
      const raw = await openRawSql(c.db.url);
      try {
        return await raw.count(`SELECT count(*) FROM ${table}`);
      } finally {
        await raw.close();
      }
    };

    it('a process that died after the commit leaves its answer: the retry replays it, on every keyed route', async () => {
      const c = await createTestContext(backend);
      ctx = c;
      const agentId = (await c.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id as string;
      const running = (await c.api('POST', '/api/v1/runs', { agent_id: agentId })).body.id as string;
      const toCancel = (await c.api('POST', '/api/v1/runs', { agent_id: agentId })).body.id as string;
      const other = (await c.api('POST', '/api/v1/agents', { name: 'Other' })).body.id as string;

      // The dying process: its store never keeps an answer after the handler (the process is gone
      // by then); everything the handler itself committed stays.
      const dying: Store = wrapStoreMethod(c.rt.store, 'completeIdempotencyKey', () => async () => {});
      const appAt = async (store: Store, offset: number) => {
        const app = await buildApp({
          store,
          config: c.config,
          secretBox: c.rt.secretBox,
          send: c.rt.send,
          now: () => Date.now() + offset,
        });
        await app.ready();
        return app;
      };
      const first = await appAt(dying, 0);
      const retry = await appAt(c.rt.store, LOCK_RUNS_OUT);
      try {
        const cases: Array<[string, unknown, number, string]> = [
          ['/api/v1/runs', { agent_id: agentId, status: 'completed', passed_count: 1 }, 201, 'test_runs'],
          ['/api/v1/runs', { agent_id: agentId, status: 'running' }, 201, 'test_runs'],
          [`/api/v1/runs/${running}/complete`, { status: 'completed', passed_count: 2 }, 200, 'events'],
          [`/api/v1/runs/${toCancel}/cancel`, {}, 200, 'events'],
          ['/api/v1/agents', { name: 'Created once' }, 201, 'agents'],
          ['/api/v1/webhooks', { url: 'https://hooks.example.com/x', agent_id: other }, 201, 'webhooks'],
        ];
        for (const [i, [url, body, status, table]] of cases.entries()) {
          const send = (app: typeof first) =>
            app.inject({
              method: 'POST',
              url,
              headers: {
                authorization: `Bearer ${c.apiKey}`,
                'content-type': 'application/json',
                'idempotency-key': `crash-${i}`,
              },
              payload: JSON.stringify(body),
            });
          const answered = await send(first);
          expect(answered.statusCode, answered.body).toBe(status);
          const rows = await count(c, table);
          const again = await send(retry);
          expect(again.statusCode, `${url}: ${again.body}`).toBe(status);
          expect(again.headers['idempotent-replayed']).toBe('true');
          expect(again.body).toBe(answered.body);
          expect(await count(c, table)).toBe(rows);
        }
      } finally {
        await first.close();
        await retry.close();
      }
    });

    it('300 keyed POST /runs against a `runhook serve` SIGKILLed three times make exactly 300 runs', async () => {
      const c = await createTestContext(backend);
      ctx = c;
      const agentId = (await c.api('POST', '/api/v1/agents', { name: 'CI' })).body.id as string;
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      let server: Spawned | null = null;
      const start = async () => {
        const p = runCli(['serve'], {
          ...TEST_ENV,
          RUNHOOK_DATABASE_URL: c.db.url,
          RUNHOOK_PORT: String(port),
          RUNHOOK_LOG_LEVEL: 'warn',
        });
        children.push(p);
        await eventually(
          async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true,
          30_000,
          'serve to listen',
        );
        server = p;
      };
      await start();

      const TOTAL = 300;
      let sent = 0;
      const answers = new Map<number, string>();
      /** One CI step: retries its keyed call until it gets a 2xx, as a CI retry loop does. */
      const step = async (i: number) => {
        for (let attempt = 0; attempt < 200; attempt++) {
          const res = await fetch(`${base}/api/v1/runs`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${c.apiKey}`,
              'content-type': 'application/json',
              'idempotency-key': `ci-step-${i}`,
            },
            body: JSON.stringify({
              agent_id: agentId,
              name: `step ${i}`,
              status: 'completed',
              passed_count: 1,
            }),
          }).catch(() => null);
          if (res?.status === 201) {
            answers.set(i, JSON.parse(await res.text()).id);
            return;
          }
          await res?.arrayBuffer();
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`step ${i} never answered`);
      };
      const workers = Array.from({ length: 20 }, async () => {
        while (sent < TOTAL) await step(sent++);
      });
      // Three kills, each while requests are in flight; a new server on the same port each time.
      for (const at of [60, 140, 220]) {
        await eventually(async () => sent >= at, 60_000, `${at} requests sent`);
        const dying = server as Spawned | null;
        dying?.child.kill('SIGKILL');
        await dying?.exited;
        await start();
      }
      await Promise.all(workers);
      expect(answers.size).toBe(TOTAL);
      expect(new Set(answers.values()).size).toBe(TOTAL);
      expect(await count(c, 'test_runs')).toBe(TOTAL);
      expect(await count(c, 'events')).toBe(TOTAL);
    }, 240_000);
  });
}
