/**
 * Scenario results through the real HTTP API (docs/api.md#scenario-results): the app and its
 * worker in this process on a loopback port, a signed `standard` webhook to the bench receiver.
 *
 * - results_5000_p50_ms (SQLite) and results_5000_pg_p50_ms: a finished run with 5,000 results,
 *   against the previous run as baseline (every run compared, a few tests flipping), from request
 *   to answer: stored, compared, event and delivery committed.
 * - results_bytes_per_result: database pages the 5,000-result runs added on SQLite, per result
 *   (passing ones, short names).
 * - results_ingest_runs_per_s: finished runs of 1,000 results posted at 20/s for
 *   BENCH_RESULTS_SECONDS (default 30), and whether delivery kept pace; the runs go to
 *   BENCH_RESULTS_AGENTS agents in turn (default 1: every run compared with the one before it).
 * - tests_list_p50_ms: GET /agents/{id}/tests for an agent with 10,000 tests and 100 runs
 * - test_history_p50_ms: GET /agents/{id}/tests/{test_id}/history of one of those tests (100 results)
 *   (BENCH_RESULTS_LIST_RUNS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { createWorkerWithHealth } from '../src/delivery/workerWithHealth.js';
import { buildApp } from '../src/http/app.js';
import { bootstrapOrganization, closeRuntime, createLogger, openRuntime } from '../src/runtime.js';
import { generateApiKey } from '../src/security/apiKeys.js';
import { BENCH_SECRET_KEY, percentile, type ReceiverHandle } from './endToEnd.js';

export interface ResultsBenchResult {
  label: string;
  p50Ms5000: number;
  bytesPerResult: number | null;
  ingestRunsPerS: number;
  /** Deliveries still pending when the load stopped. */
  ingestBacklogEnd: number;
  ingestAccepted: number;
  testsListP50Ms: number | null;
  testHistoryP50Ms: number | null;
}

const SECONDS = Number(process.env.BENCH_RESULTS_SECONDS ?? 30);
/** Runs of 10,000 results behind the test list's figure. */
const LIST_RUNS = Number(process.env.BENCH_RESULTS_LIST_RUNS ?? 100);
/** Agents the ingest's runs go to in turn (a CI build's shards report as several agents). */
const INGEST_AGENTS = Math.max(1, Number(process.env.BENCH_RESULTS_AGENTS ?? 1));

function results(n: number, round: number, prefix = 't') {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}${i}`,
    suite: `suite${i % 50}`,
    // A few tests flip from run to run; the rest pass.
    status: i % 997 === 0 && round % 2 === 1 ? 'failed' : 'passed',
    duration_ms: 100 + (i % 900),
  }));
}

async function withApp<T>(
  databaseUrl: string,
  receiverUrl: string,
  fn: (
    api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>,
    agentId: string,
  ) => Promise<T>,
): Promise<T> {
  const apiKey = generateApiKey();
  const config = loadConfig({
    RUNHOOK_DATABASE_URL: databaseUrl,
    RUNHOOK_BOOTSTRAP_API_KEY: apiKey,
    RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
    RUNHOOK_SECRET_KEY: BENCH_SECRET_KEY,
    RUNHOOK_LOG_LEVEL: 'silent',
    RUNHOOK_RATE_LIMIT: '0',
  });
  const logger = createLogger(config);
  const rt = await openRuntime(config, logger);
  await bootstrapOrganization(rt);
  const app = await buildApp({ store: rt.store, config, secretBox: rt.secretBox, send: rt.send });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const worker = createWorkerWithHealth({
    store: rt.store,
    send: rt.send,
    settings: config,
    config,
    logger,
    leaseAhead: true,
  });
  worker.start();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${base}${path}`, {
      method: method as 'GET',
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  };
  try {
    const agent = await api('POST', '/api/v1/agents', { name: 'results bench' });
    await api('POST', '/api/v1/webhooks', {
      url: receiverUrl,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    return await fn(api, agent.body.id);
  } finally {
    await worker.stop(2_000);
    await app.close();
    await closeRuntime(rt);
  }
}

async function timedRuns(
  api: (m: string, p: string, b?: unknown) => Promise<{ status: number; body: any }>,
  agentId: string,
  count: number,
  size: number,
  name: string,
): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < count; round++) {
    const body = { agent_id: agentId, name, status: 'completed', results: results(size, round) };
    const started = performance.now();
    const res = await api('POST', '/api/v1/runs', body);
    times.push(performance.now() - started);
    if (res.status !== 201) throw new Error(`POST /runs answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return times;
}

export async function measureResults(options: {
  receiver: ReceiverHandle;
  databaseUrl: string | null;
  label: string;
  full: boolean;
}): Promise<ResultsBenchResult> {
  const folder = mkdtempSync(join(tmpdir(), 'runhook-results-bench-'));
  const file = join(folder, 'bench.db');
  const url = options.databaseUrl ?? `sqlite:${file}`;
  try {
    return await withApp(url, options.receiver.url, async (api, agentId) => {
      // Warm-up and baseline.
      await timedRuns(api, agentId, 2, 5000, 'p50');
      const pages = () => {
        if (options.databaseUrl) return null;
        const db = new SqliteDatabase(file, { readonly: true });
        try {
          const n = db.pragma('page_count', { simple: true }) as number;
          const free = db.pragma('freelist_count', { simple: true }) as number;
          const size = db.pragma('page_size', { simple: true }) as number;
          return (n - free) * size;
        } finally {
          db.close();
        }
      };
      const before = pages();
      const times = await timedRuns(api, agentId, 10, 5000, 'p50');
      const after = pages();
      const bytesPerResult = before === null || after === null ? null : (after - before) / (10 * 5000);

      // 20 runs/s of 1,000 results, open loop.
      const agents = [agentId];
      while (agents.length < INGEST_AGENTS) {
        agents.push((await api('POST', '/api/v1/agents', { name: `ingest ${agents.length}` })).body.id);
      }
      let accepted = 0;
      const started = performance.now();
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
        const due = started + i * 50;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const p = api('POST', '/api/v1/runs', {
          agent_id: agents[i % agents.length],
          name: 'ingest',
          status: 'completed',
          results: results(1000, i, 'i'),
        }).then((res) => {
          if (res.status === 201) accepted += 1;
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await Promise.all(inFlight);
      const elapsed = (performance.now() - started) / 1000;
      const ingestRunsPerS = accepted / elapsed;
      // Delivery kept pace when little is pending as the load stops.
      const backlogEnd = (await api('GET', '/api/v1/deliveries?status=pending&limit=1')).body.total as number;

      let testsListP50Ms: number | null = null;
      let testHistoryP50Ms: number | null = null;
      if (options.full) {
        // 10,000 tests over 100 runs of another agent.
        const big = await api('POST', '/api/v1/agents', { name: 'ten thousand tests' });
        for (let round = 0; round < LIST_RUNS; round++) {
          const res = await api('POST', '/api/v1/runs', {
            agent_id: big.body.id,
            name: 'big',
            status: 'completed',
            results: results(10_000, round, 'b'),
          });
          if (res.status !== 201) throw new Error(`POST /runs answered ${res.status}`);
        }
        const list: number[] = [];
        for (let i = 0; i < 30; i++) {
          const t0 = performance.now();
          const res = await api('GET', `/api/v1/agents/${big.body.id}/tests`);
          list.push(performance.now() - t0);
          if (res.body.total !== 10_000) throw new Error(`expected 10,000 tests, got ${res.body.total}`);
        }
        testsListP50Ms = percentile(
          list.sort((a, b) => a - b),
          0.5,
        );
        const testId = (await api('GET', `/api/v1/agents/${big.body.id}/tests?limit=1`)).body.tests[0].id;
        const history: number[] = [];
        for (let i = 0; i < 30; i++) {
          const t0 = performance.now();
          const res = await api('GET', `/api/v1/agents/${big.body.id}/tests/${testId}/history`);
          history.push(performance.now() - t0);
          if (res.body.total !== LIST_RUNS)
            throw new Error(`expected ${LIST_RUNS} results, got ${res.body.total}`);
        }
        testHistoryP50Ms = percentile(
          history.sort((a, b) => a - b),
          0.5,
        );
      }
      return {
        label: options.label,
        p50Ms5000: percentile(
          times.sort((a, b) => a - b),
          0.5,
        ),
        bytesPerResult,
        ingestRunsPerS,
        ingestBacklogEnd: backlogEnd,
        ingestAccepted: accepted,
        testsListP50Ms,
        testHistoryP50Ms,
      };
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
