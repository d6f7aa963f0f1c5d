/**
 * Ordered delivery across processes (docs/delivery.md#ordered-delivery): two `runhook worker`
 * processes on one PostgreSQL schema, one of them SIGKILLed again and again, and runs finished
 * meanwhile for three agents of one `fifo` webhook. Each agent's receiver sees its events in event
 * order, one request at a time; a request repeated is only ever the one before again (a retry, or
 * the attempt a killed worker had on the wire, sent again when its lease ran out).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, type Spawned } from '../helpers/cli.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { allSucceeded, deliveryCounts, Processes, scaleBackend, sqlClient } from './support.js';

const AGENTS = 3;
const RUNS_PER_AGENT = 30;
const KILL_AFTER_MS = 400;

/** Answers after 20 ms; the first request for every third run gets a 500 (a retry in the queue). */
class OrderReceiver {
  /** Per agent: the runs of the requests, in arrival order. */
  readonly log = new Map<string, string[]>();
  readonly inFlight = new Map<string, number>();
  maxInFlight = 0;
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // The run's name says whose and which it is (known before the API has answered).
        const found = /fifo-(\d+)-(\d+)-end/.exec(Buffer.concat(chunks).toString('utf8'));
        if (!found) {
          res.writeHead(400).end();
          return;
        }
        const run = { agent: found[1]!, index: Number(found[2]) };
        const runId = `${run.agent}/${run.index}`;
        const log = this.log.get(run.agent) ?? [];
        this.log.set(run.agent, log);
        const first = !log.includes(runId);
        log.push(runId);
        const n = (this.inFlight.get(run.agent) ?? 0) + 1;
        this.inFlight.set(run.agent, n);
        this.maxInFlight = Math.max(this.maxInFlight, n);
        setTimeout(() => {
          this.inFlight.set(run.agent, (this.inFlight.get(run.agent) ?? 1) - 1);
          res.writeHead(first && run.index % 3 === 0 ? 500 : 200).end('{}');
        }, 20);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The log with each run's repeats in a row folded into one. */
function folded(log: string[]): string[] {
  return log.filter((id, i) => i === 0 || log[i - 1] !== id);
}

beforeAll(() => ensureBuilt(), 120_000);

describe.skipIf(!scaleBackend)('a fifo webhook served by two workers, one SIGKILLed again and again', () => {
  let ctx: TestContext | undefined;
  let receiver: OrderReceiver | undefined;
  const processes = new Processes();

  afterEach(async () => {
    await processes.killAll();
    await ctx?.close();
    await receiver?.close();
  });

  it(`${AGENTS} agents × ${RUNS_PER_AGENT} runs: each agent's events in order, one in flight`, async () => {
    ctx = await createTestContext(scaleBackend!);
    const c = ctx;
    const r = await new OrderReceiver().start();
    receiver = r;
    const hook = await c.api('POST', '/api/v1/webhooks', { url: r.url, ordering: 'fifo' });
    expect(hook.status).toBe(201);
    const agents: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const res = await c.api('POST', '/api/v1/agents', { name: `ordered ${i}` });
      agents.push(res.body.id);
    }
    const env = { RUNHOOK_DATABASE_URL: c.db.url, RUNHOOK_WORKER_CONCURRENCY: '8' };
    const survivor = processes.start(['worker'], env);
    await survivor.waitForOutput('started', 60_000);

    let finished = false;
    let kills = 0;
    const victimLoop = (async () => {
      while (!finished) {
        const victim: Spawned = processes.start(['worker'], env);
        // A slow start (a loaded machine) is killed all the same, started or not.
        const started = await victim.waitForOutput('started', 60_000).then(
          () => true,
          () => false,
        );
        await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
        victim.child.kill('SIGKILL');
        await victim.exited;
        if (started) kills++;
      }
    })();

    const expected = new Map<string, string[]>(
      agents.map((_, a) => [String(a), Array.from({ length: RUNS_PER_AGENT }, (_, i) => `${a}/${i}`)]),
    );
    const db = await sqlClient(c.db.url);
    try {
      // The agents' runs finish side by side while the workers send (and get killed).
      await Promise.all(
        agents.map(async (agent, a) => {
          for (let i = 0; i < RUNS_PER_AGENT; i++) {
            const res = await c.api('POST', '/api/v1/runs', {
              agent_id: agent,
              name: `fifo-${a}-${i}-end`,
              status: 'completed',
              passed_count: 1,
              failed_count: 0,
              error_count: 0,
            });
            expect(res.status).toBe(201);
          }
        }),
      );
      await allSucceeded(db, AGENTS * RUNS_PER_AGENT, 120_000);
      finished = true;
      await victimLoop;

      expect(kills).toBeGreaterThanOrEqual(2);
      expect(r.maxInFlight).toBe(1);
      for (const [agent, runs] of expected) expect(folded(r.log.get(agent) ?? [])).toEqual(runs);
      const counts = await deliveryCounts(db);
      expect(counts).toMatchObject({ succeeded: AGENTS * RUNS_PER_AGENT, pending: 0, failed: 0 });
      const waiting = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM deliveries WHERE held_at IS NOT NULL',
      );
      expect(waiting.rows[0]?.n).toBe(0);
      const lost = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM attempts WHERE error_class = 'worker_lost'",
      );
      process.stdout.write(
        `[scale] fifo: ${kills} kills, ${[...r.log.values()].reduce((n, l) => n + l.length, 0)} requests for ` +
          `${AGENTS * RUNS_PER_AGENT} events, ${lost.rows[0]?.n} worker_lost attempts\n`,
      );
    } finally {
      finished = true;
      await victimLoop.catch(() => {});
      await db.end();
    }
  }, 180_000);
});
