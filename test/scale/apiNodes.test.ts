/**
 * Scale-out of the API (docs/scaling-out.md): two `runhook serve --no-worker` processes on one fresh
 * PostgreSQL schema, started at the same moment (both migrate and both try to bootstrap the
 * organization). Concurrent `complete` calls on the same runs through both make one event per
 * run; concurrent run creation through both numbers runs TR-00001… without gaps or duplicates.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/security/apiKeys.js';
import type { TestDatabase } from '../helpers/backends.js';
import { ensureBuilt } from '../helpers/cli.js';
import { Processes, scaleBackend, sqlClient } from './support.js';

const RUNS_COMPLETED = 60;
const CALLS_PER_RUN = 6;
const RUNS_CREATED = 120;

beforeAll(() => ensureBuilt(), 120_000);

interface Answer {
  status: number;
  /** The fields these tests read: a created object's ids, or an error's code. */
  body: { id: string; test_run_id: string; code?: string };
}

function apiClient(base: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? ({} as Answer['body']) : JSON.parse(text) };
  };
}

describe.skipIf(!scaleBackend)('two API processes on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  const processes = new Processes();

  afterEach(async () => {
    await processes.killAll();
    await db?.drop();
  });

  it('started together on a fresh schema; concurrent completes make one event per run; TR- numbers have no gaps or duplicates', async () => {
    db = await scaleBackend!.create();
    const apiKey = generateApiKey();
    const env = {
      RUNHOOK_DATABASE_URL: db.url,
      RUNHOOK_PORT: '0',
      RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
    };
    const nodes = [
      processes.start(['serve', '--no-worker'], env),
      processes.start(['serve', '--no-worker'], env),
    ];
    const bases = await Promise.all(
      nodes.map(async (p) => {
        const out = await p.waitForOutput(/listening on (http:\/\/\S+) /, 20_000);
        return /listening on (http:\/\/\S+) /.exec(out)![1]!;
      }),
    );
    expect(bases[0]).not.toBe(bases[1]);
    const [a, b] = bases.map((base) => apiClient(base, apiKey)) as [
      ReturnType<typeof apiClient>,
      ReturnType<typeof apiClient>,
    ];
    const node = (i: number) => (i % 2 === 0 ? a : b);

    const agent = await a('POST', '/agents', { name: 'Scale agent' });
    expect(agent.status).toBe(201);
    // A webhook so that each event also gets its delivery (nothing sends it: no worker runs).
    const webhook = await b('POST', '/webhooks', { url: 'https://example.com/hook' });
    expect(webhook.status).toBe(201);

    // Runs started through both nodes, then completed through both at once.
    const runs = await Promise.all(
      Array.from({ length: RUNS_COMPLETED }, (_, i) => node(i)('POST', '/runs', { agent_id: agent.body.id })),
    );
    for (const r of runs) expect(r.status).toBe(201);
    const answers = await Promise.all(
      runs.flatMap((run) =>
        Array.from({ length: CALLS_PER_RUN }, (_, i) =>
          node(i)('POST', `/runs/${run.body.id}/complete`, {
            status: i % 3 === 0 ? 'failed' : 'completed',
            passed_count: i,
            failed_count: 1,
          }).then((res) => ({ run: run.body.id as string, ...res })),
        ),
      ),
    );
    for (const run of runs) {
      const mine = answers.filter((x) => x.run === run.body.id);
      expect(mine.filter((x) => x.status === 200)).toHaveLength(1);
      expect(mine.filter((x) => x.status === 409 && x.body.code === 'INVALID_STATE')).toHaveLength(
        CALLS_PER_RUN - 1,
      );
    }

    // Runs created at once through both nodes, half of them already finished (one call from CI).
    const created = await Promise.all(
      Array.from({ length: RUNS_CREATED }, (_, i) =>
        node(i)(
          'POST',
          '/runs',
          i % 2 === 0
            ? { agent_id: agent.body.id }
            : { agent_id: agent.body.id, status: 'completed', passed_count: 3, failed_count: 0 },
        ),
      ),
    );
    for (const r of created) expect(r.status).toBe(201);
    const total = RUNS_COMPLETED + RUNS_CREATED;
    const numbers = [...runs, ...created].map((r) => r.body.test_run_id as string).sort();
    expect(numbers).toEqual(Array.from({ length: total }, (_, i) => `TR-${String(i + 1).padStart(5, '0')}`));

    const client = await sqlClient(db.url);
    try {
      const orgs = await client.query('SELECT id FROM organizations');
      expect(orgs.rowCount).toBe(1); // both nodes bootstrapped; one organization stands
      const perRun = await client.query<{ test_run_id: string; n: number }>(
        'SELECT test_run_id, count(*)::int AS n FROM events GROUP BY test_run_id',
      );
      const finishedRuns = RUNS_COMPLETED + RUNS_CREATED / 2;
      expect(perRun.rowCount).toBe(finishedRuns);
      expect(perRun.rows.filter((r) => r.n !== 1)).toEqual([]);
      const deliveries = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries');
      expect(deliveries.rows[0]!.n).toBe(finishedRuns);
      const seqs = await client.query<{ seq: number }>('SELECT seq::int AS seq FROM test_runs ORDER BY seq');
      expect(seqs.rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    } finally {
      await client.end();
    }
  }, 90_000);
});
