/**
 * `runhook report` against a small HTTP server that answers like docs/api.md describes, to pin
 * down the client's side: paging through agents, the create race (409), the request bodies (one
 * POST /runs, or results in chunks), Idempotency-Keys, and how refusals and an unreachable
 * server surface. The real server is exercised by report.e2e.test.ts.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerReportCommand, reportRun } from '../../src/cli/report.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/junit/${name}`, import.meta.url));
const KEY = 'sk_live_0123456789abcdefghijABCDEFGHIJ0123456789';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  idempotencyKey: string | undefined;
  body: unknown;
}

interface FakeRun {
  id: string;
  test_run_id: string;
  status: string;
  results: { suite?: string; name: string; status: string }[];
  [field: string]: unknown;
}

/** What the server does next; tests change it. */
const state = {
  runs: new Map<string, FakeRun>(),
  /** Answers kept per Idempotency-Key: the same key and body answer them again. */
  keyed: new Map<string, { request: string; status: number; json: unknown }>(),
  /** Answer POST /runs/{id}/results with a 503 once, for the chunk with this number (from 1). */
  dropChunk: null as number | null,
  refuseResults: null as null | { status: number; body: string },
  agents: [] as { id: string; name: string }[],
  seen: [] as Seen[],
  /** Agents created by "another CI job" just before our POST /agents arrives. */
  raceOnCreate: false,
  refuseRuns: null as null | { status: number; body: string },
  /** Answer POST /runs as a replay of an earlier request (`Idempotent-Replayed: true`). */
  replay: false,
  /** Answer this many POST /runs with 503 (or with `flaky.status`) before the 201. */
  flaky: { times: 0, status: 503, retryAfter: null as string | null },
};

let server: Server;
let baseUrl: string;

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text === '' ? undefined : JSON.parse(text);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    state.seen.push({
      method: req.method!,
      url: req.url!,
      auth: req.headers.authorization,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      body,
    });
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
    };
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      return send(401, { error: 'Missing or invalid API key', code: 'UNAUTHORIZED' });
    }
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET' && url.pathname === '/api/v1/agents') {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const agents = state.agents.slice(offset, offset + Math.min(limit, 100));
      return send(200, { agents, total: state.agents.length, limit, offset });
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/agents') {
      const { name } = body as { name: string };
      if (state.raceOnCreate) state.agents.push({ id: 'agent-from-other-job', name });
      if (state.agents.some((a) => a.name === name)) {
        return send(409, { error: `An agent named ${name} already exists`, code: 'ALREADY_EXISTS' });
      }
      const agent = { id: `agent-${state.agents.length + 1}`, name };
      state.agents.push(agent);
      return send(201, agent);
    }
    // A proxy in front of the server answers these, before the server sees the request.
    if (req.method === 'POST' && url.pathname === '/api/v1/runs') {
      if (state.flaky.times > 0) {
        state.flaky.times -= 1;
        const headers: Record<string, string> = state.flaky.retryAfter
          ? { 'retry-after': state.flaky.retryAfter }
          : {};
        return send(state.flaky.status, { error: 'try again later', code: 'RATE_LIMITED' }, headers);
      }
    }
    const key = req.headers['idempotency-key'] as string | undefined;
    if (req.method === 'POST' && key !== undefined && state.keyed.has(key)) {
      const kept = state.keyed.get(key)!;
      if (kept.request !== `${url.pathname} ${JSON.stringify(body)}`) {
        return send(409, { error: 'Idempotency-Key reused with another body', code: 'ALREADY_EXISTS' });
      }
      return send(kept.status, kept.json, { 'idempotent-replayed': 'true' });
    }
    /** Sends a 2xx and keeps it for the request's key, as the server does (docs/api.md, Idempotency). */
    const sendKept = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      if (key !== undefined)
        state.keyed.set(key, { request: `${url.pathname} ${JSON.stringify(body)}`, status, json });
      send(status, json, headers);
    };
    const runPath = /^\/api\/v1\/runs\/([^/]+)(?:\/(results|complete))?$/.exec(url.pathname);
    if (runPath !== null) {
      const run = state.runs.get(decodeURIComponent(runPath[1]!));
      if (run === undefined) return send(404, { error: 'Run not found', code: 'RUN_NOT_FOUND' });
      const { results, ...shown } = run;
      if (req.method === 'GET' && runPath[2] === undefined) return send(200, shown);
      if (run.status !== 'running') {
        return send(409, { error: `Run is already ${run.status}`, code: 'INVALID_STATE' });
      }
      if (req.method === 'POST' && runPath[2] === 'results') {
        const chunk = (body as { results: FakeRun['results'] }).results;
        if (state.refuseResults) {
          res.writeHead(state.refuseResults.status, { 'content-type': 'application/json' });
          return res.end(state.refuseResults.body);
        }
        if (state.dropChunk !== null && results.length === (state.dropChunk - 1) * 1000) {
          state.dropChunk = null;
          state.refuseResults = null;
          return send(503, { error: 'try again later', code: 'RATE_LIMITED' });
        }
        const refusal = resultsRefusal(results, chunk);
        if (refusal !== null) return send(400, { error: refusal, code: 'INVALID_FIELD_VALUE' });
        results.push(...chunk);
        return sendKept(200, { accepted: chunk.length, total: results.length });
      }
      if (req.method === 'POST' && runPath[2] === 'complete') {
        const complete = body as Record<string, unknown>;
        const counts = countsOf(results);
        for (const [field, value] of Object.entries(counts)) {
          if (complete[field] !== undefined && complete[field] !== value) {
            return send(400, { error: `${field} disagrees with the results`, code: 'INVALID_FIELD_VALUE' });
          }
        }
        Object.assign(run, complete, counts);
        const { results: _kept, ...finished } = run;
        return sendKept(200, finished);
      }
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/runs') {
      if (state.refuseRuns) {
        res.writeHead(state.refuseRuns.status, { 'content-type': 'application/json' });
        return res.end(state.refuseRuns.body);
      }
      const { results = [], ...fields } = body as Record<string, unknown> & { results?: FakeRun['results'] };
      if (results.length > 1000)
        return send(400, { error: 'results: at most 1000', code: 'INVALID_FIELD_VALUE' });
      const refusal = resultsRefusal([], results);
      if (refusal !== null) return send(400, { error: refusal, code: 'INVALID_FIELD_VALUE' });
      const n = state.runs.size + 1;
      const run: FakeRun = {
        ...fields,
        id: `run-uuid-${n}`,
        test_run_id: `TR-${String(n).padStart(5, '0')}`,
        status: typeof fields.status === 'string' ? fields.status : 'running',
        results,
      };
      state.runs.set(run.id, run);
      const answer = { id: run.id, test_run_id: run.test_run_id, status: run.status };
      if (state.replay) return send(201, answer, { 'idempotent-replayed': 'true' });
      return sendKept(201, answer);
    }
    send(404, { error: 'Not found', code: 'NOT_FOUND' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const tempDirs: string[] = [];
/** A folder for a generated JUnit file, removed after the tests. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runhook-report-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The server's rules for results: at most 1,000 a request, each test once per run (docs/api.md). */
function resultsRefusal(stored: FakeRun['results'], added: FakeRun['results']): string | null {
  if (added.length > 1000) return 'results: at most 1000 per request';
  const seen = new Set(stored.map((r) => JSON.stringify([r.suite ?? null, r.name])));
  for (const r of added) {
    const id = JSON.stringify([r.suite ?? null, r.name]);
    if (seen.has(id)) return `results: ${r.suite} ${r.name} appears twice in this run`;
    seen.add(id);
  }
  return null;
}

function countsOf(results: FakeRun['results']) {
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return {
    passed_count: count('passed'),
    failed_count: count('failed'),
    error_count: count('error'),
    total_scenarios: count('passed') + count('failed') + count('error'),
  };
}

afterEach(() => {
  state.runs = new Map();
  state.keyed = new Map();
  state.dropChunk = null;
  state.agents = [];
  state.seen = [];
  state.raceOnCreate = false;
  state.refuseRuns = null;
  state.replay = false;
  state.flaky = { times: 0, status: 503, retryAfter: null };
  vi.restoreAllMocks();
});

describe('reportRun', () => {
  it('finds an agent on the third page and posts one finished run with the counts', async () => {
    state.agents = Array.from({ length: 250 }, (_, i) => ({ id: `agent-${i}`, name: `agent ${i}` }));
    const result = await reportRun({
      files: [fixture('pytest.xml'), fixture('jenkins-style.xml')],
      agent: 'agent 230',
      apiUrl: `${baseUrl}/api/v1/`,
      apiKey: KEY,
    });
    expect(result).toMatchObject({
      id: 'run-uuid-1',
      test_run_id: 'TR-00001',
      results_url: `${baseUrl}/runs/run-uuid-1`,
    });
    expect(state.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/agents?limit=100&offset=0',
      'GET /api/v1/agents?limit=100&offset=100',
      'GET /api/v1/agents?limit=100&offset=200',
      'POST /api/v1/runs',
    ]);
    const sent = state.seen.at(-1)!;
    expect(sent.body).toEqual({
      agent_id: 'agent-230',
      name: 'triage',
      status: 'failed',
      passed_count: 8,
      failed_count: 2,
      error_count: 3,
      total_scenarios: 13,
      // From the earliest suite timestamp (jenkins-style.xml, local time) to the latest end.
      started_at: new Date('2026-01-30T10:29:30').toISOString(),
      completed_at: '2026-11-23T09:40:55.413Z',
      failures: [
        expect.objectContaining({ name: 'test_fails_on_purpose', classname: 'test_triage', kind: 'failed' }),
        expect.objectContaining({ name: 'test_needs_database', kind: 'error' }),
        expect.objectContaining({ name: 'handlesOverdose', message: 'expected ESCALATE but was ADVISE' }),
        expect.objectContaining({ name: 'cancelsAppointment', kind: 'error' }),
        expect.objectContaining({ name: 'timesOutOnProvider', kind: 'error' }),
      ],
      // Every test case of both files, skipped ones too.
      results: expect.any(Array),
    });
    const results = (sent.body as { results: { name: string; status: string }[] }).results;
    expect(results).toHaveLength(17);
    expect(results.filter((r) => r.status === 'skipped')).toHaveLength(4);
    expect(results[0]).toEqual({
      name: 'test_routes_chest_pain',
      suite: 'test_triage',
      status: 'passed',
      duration_ms: 0,
    });
    expect(sent.idempotencyKey).toBe(result.idempotency_key);
    expect(sent.idempotencyKey).toMatch(/^runhook-report-[0-9a-f]{64}$/);
    expect(result.replayed).toBe(false);
  });

  it('creates a missing agent and names the run after the suite', async () => {
    const result = await reportRun({
      files: [fixture('pytest.xml')],
      agent: 'Healthcare Assistant',
      apiUrl: baseUrl,
      apiKey: KEY,
      publicUrl: 'https://runhook.example.com/',
    });
    expect(result.results_url).toBe('https://runhook.example.com/runs/run-uuid-1');
    expect(state.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/agents?limit=100&offset=0',
      'POST /api/v1/agents',
      'POST /api/v1/runs',
    ]);
    expect(state.seen[1]!.body).toEqual({ name: 'Healthcare Assistant' });
    expect(state.seen[2]!.body).toMatchObject({
      agent_id: 'agent-1',
      name: 'triage',
      started_at: '2026-11-23T09:40:55.386Z',
      completed_at: '2026-11-23T09:40:55.413Z',
    });
  });

  it('re-reads the agents when another job created the agent first (409 ALREADY_EXISTS)', async () => {
    state.raceOnCreate = true;
    await reportRun({
      files: [fixture('vitest.xml')],
      agent: 'ci',
      apiUrl: baseUrl,
      apiKey: KEY,
      name: 'nightly',
    });
    expect(state.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/agents?limit=100&offset=0',
      'POST /api/v1/agents',
      'GET /api/v1/agents?limit=100&offset=0',
      'POST /api/v1/runs',
    ]);
    expect(state.seen[3]!.body).toMatchObject({ agent_id: 'agent-from-other-job', name: 'nightly' });
  });

  it('reports "completed" when nothing failed or errored, skipped cases left out of the total', async () => {
    const path = `${tempDir()}/green.xml`;
    writeFileSync(
      path,
      '<testsuite name="green"><testcase name="a"/><testcase name="b"><skipped/></testcase></testsuite>',
    );
    await reportRun({ files: [path], agent: 'ci', apiUrl: baseUrl, apiKey: KEY });
    const written = new Date(Math.floor(statSync(path).mtimeMs)).toISOString();
    expect(state.seen.at(-1)!.body).toEqual({
      agent_id: 'agent-1',
      name: 'green',
      status: 'completed',
      passed_count: 1,
      failed_count: 0,
      error_count: 0,
      total_scenarios: 1,
      // No timestamp and no time: the run ended when the file was written, and took no time.
      started_at: written,
      completed_at: written,
      results: [
        { name: 'a', suite: 'green', status: 'passed' },
        { name: 'b', suite: 'green', status: 'skipped' },
      ],
    });
  });

  it("passes the server's error and code on", async () => {
    state.refuseRuns = {
      status: 400,
      body: JSON.stringify({ error: 'total_scenarios is too small', code: 'INVALID_FIELD_VALUE' }),
    };
    await expect(
      reportRun({ files: [fixture('pytest.xml')], agent: 'ci', apiUrl: baseUrl, apiKey: KEY }),
    ).rejects.toThrow('POST /api/v1/runs was refused: 400 INVALID_FIELD_VALUE total_scenarios is too small');
  });

  it('says so when the server answers something that is not JSON (a proxy’s 502, tried three times)', async () => {
    state.refuseRuns = { status: 502, body: '<html>Bad Gateway</html>' };
    await expect(
      reportRun({
        files: [fixture('pytest.xml')],
        agent: 'ci',
        apiUrl: baseUrl,
        apiKey: KEY,
        retryDelaysMs: [10, 10],
      }),
    ).rejects.toThrow(/answered 502 with a body that is not JSON: <html>Bad Gateway/);
    expect(state.seen.filter((s) => s.url === '/api/v1/runs')).toHaveLength(3);
  });
});

describe('reportRun and the Idempotency-Key', () => {
  it('sends the same derived key when the same step runs again, and --idempotency-key when given', async () => {
    const opts = { files: [fixture('vitest.xml')], agent: 'ci', apiUrl: baseUrl, apiKey: KEY };
    const first = await reportRun(opts);
    state.replay = true;
    const again = await reportRun(opts);
    expect(again.replayed).toBe(true);
    const keys = state.seen.filter((s) => s.url === '/api/v1/runs').map((s) => s.idempotencyKey);
    expect(keys).toEqual([first.idempotency_key, first.idempotency_key]);
    await reportRun({ ...opts, idempotencyKey: 'build-4711-attempt-1' });
    expect(state.seen.at(-1)!.idempotencyKey).toBe('build-4711-attempt-1');
  });

  it('tries POST /runs again with the same key after a 503 or a 429 (Retry-After), up to three times', async () => {
    const opts = {
      files: [fixture('vitest.xml')],
      agent: 'ci',
      apiUrl: baseUrl,
      apiKey: KEY,
      retryDelaysMs: [20, 20],
    };
    state.flaky = { times: 2, status: 503, retryAfter: null };
    const result = await reportRun(opts);
    let posts = state.seen.filter((s) => s.url === '/api/v1/runs');
    expect(posts.map((p) => p.idempotencyKey)).toEqual(Array(3).fill(result.idempotency_key));
    expect(result.test_run_id).toBe('TR-00001');

    state.seen = [];
    state.flaky = { times: 1, status: 429, retryAfter: '0' };
    await reportRun(opts);
    expect(state.seen.filter((s) => s.url === '/api/v1/runs')).toHaveLength(2);

    state.seen = [];
    state.flaky = { times: 3, status: 503, retryAfter: null };
    await expect(reportRun(opts)).rejects.toThrow(
      'POST /api/v1/runs was refused: 503 RATE_LIMITED try again later',
    );
    posts = state.seen.filter((s) => s.url === '/api/v1/runs');
    expect(posts).toHaveLength(3);
  });

  it('does not try a refused request again (400)', async () => {
    state.refuseRuns = { status: 400, body: JSON.stringify({ error: 'bad', code: 'INVALID_FIELD_VALUE' }) };
    await expect(
      reportRun({
        files: [fixture('vitest.xml')],
        agent: 'ci',
        apiUrl: baseUrl,
        apiKey: KEY,
        retryDelaysMs: [20, 20],
      }),
    ).rejects.toThrow(/400 INVALID_FIELD_VALUE bad/);
    expect(state.seen.filter((s) => s.url === '/api/v1/runs')).toHaveLength(1);
  });

  it('refuses an --idempotency-key that is not 1 to 255 printable ASCII characters, before calling the server', async () => {
    await expect(
      reportRun({
        files: [fixture('vitest.xml')],
        agent: 'ci',
        apiUrl: baseUrl,
        apiKey: KEY,
        idempotencyKey: 'clé',
      }),
    ).rejects.toMatchObject({ exitCode: 2 });
    await expect(
      reportRun({
        files: [fixture('vitest.xml')],
        agent: 'ci',
        apiUrl: baseUrl,
        apiKey: KEY,
        idempotencyKey: 'k'.repeat(256),
      }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/1 to 255 characters of printable ASCII/),
    });
    expect(state.seen).toEqual([]);
  });

  it('explains a 409 on the derived key: the same files were reported with other details', async () => {
    state.refuseRuns = {
      status: 409,
      body: JSON.stringify({ error: 'Idempotency-Key reused with another body', code: 'ALREADY_EXISTS' }),
    };
    await expect(
      reportRun({ files: [fixture('vitest.xml')], agent: 'ci', apiUrl: baseUrl, apiKey: KEY }),
    ).rejects.toThrow(
      /409 ALREADY_EXISTS Idempotency-Key reused with another body\. The Idempotency-Key was runhook-report-[0-9a-f]{64}: .*--idempotency-key with a new value/,
    );
  });
});

/**
 * A JUnit file of `tests` tests in suites of 100; every 7th fails, every 11th is skipped. The
 * first `rerun` tests appear twice, failing before they pass (pytest-rerunfailures' way).
 */
function bigJUnit(tests: number, rerun = 0): string {
  const cases: string[] = [];
  const testCase = (i: number, outcome: string) =>
    `<testcase classname="suite${Math.floor(i / 100)}" name="test ${i}" time="0.010">${outcome}</testcase>`;
  for (let i = 0; i < rerun; i++) cases.push(testCase(i, '<failure message="first try"/>'));
  for (let i = 0; i < tests; i++) {
    cases.push(
      testCase(i, i % 7 === 3 ? `<failure message="case ${i} broke"/>` : i % 11 === 5 ? '<skipped/>' : ''),
    );
  }
  const path = `${tempDir()}/big.xml`;
  writeFileSync(
    path,
    `<testsuite name="big" timestamp="2026-03-01T08:00:00Z" time="42">${cases.join('')}</testsuite>`,
  );
  return path;
}

type SentResult = { suite: string; name: string; status: string; attempts?: number };

describe('reportRun above 1,000 results', () => {
  it('creates the run, sends the results in chunks of 1,000, then completes it, each request with its own key', async () => {
    const path = bigJUnit(2500, 100);
    const result = await reportRun({
      files: [path],
      agent: 'ci',
      apiUrl: baseUrl,
      apiKey: KEY,
      name: 'Nightly',
      suiteId: 'nightly-regression',
    });
    expect(state.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/agents?limit=100&offset=0',
      'POST /api/v1/agents',
      'POST /api/v1/runs',
      'POST /api/v1/runs/run-uuid-1/results',
      'POST /api/v1/runs/run-uuid-1/results',
      'POST /api/v1/runs/run-uuid-1/results',
      'POST /api/v1/runs/run-uuid-1/complete',
    ]);
    const [create, ...rest] = state.seen.slice(2);
    const chunks = rest.slice(0, 3);
    const complete = rest[3]!;
    // A running run: no status, no counts, no results.
    expect(create!.body).toEqual({
      agent_id: 'agent-1',
      name: 'Nightly',
      test_suite_id: 'nightly-regression',
      started_at: '2026-03-01T08:00:00.000Z',
    });
    const sent = chunks.flatMap((c) => (c.body as { results: SentResult[] }).results);
    expect(chunks.map((c) => (c.body as { results: unknown[] }).results.length)).toEqual([1000, 1000, 500]);
    // Each test once: the 100 reruns are merged into their test, which passed on its second try.
    expect(new Set(sent.map((r) => `${r.suite}/${r.name}`)).size).toBe(2500);
    expect(sent[0]).toEqual({
      name: 'test 0',
      suite: 'suite0',
      status: 'passed',
      duration_ms: 20,
      attempts: 2,
    });
    expect(sent.filter((r) => r.attempts === 2)).toHaveLength(100);
    const failedCount = sent.filter((r) => r.status === 'failed').length;
    const skippedCount = sent.filter((r) => r.status === 'skipped').length;
    expect(complete.body).toEqual({
      status: 'failed',
      passed_count: 2500 - failedCount - skippedCount,
      failed_count: failedCount,
      error_count: 0,
      total_scenarios: 2500 - skippedCount,
      completed_at: '2026-03-01T08:00:42.000Z',
      failures: expect.any(Array),
    });
    expect((complete.body as { failures: unknown[] }).failures).toHaveLength(50);
    expect(state.seen.slice(2).map((s) => s.idempotencyKey)).toEqual([
      `${result.idempotency_key}:create`,
      `${result.idempotency_key}:results:1`,
      `${result.idempotency_key}:results:2`,
      `${result.idempotency_key}:results:3`,
      `${result.idempotency_key}:complete`,
    ]);
    expect(result).toMatchObject({
      id: 'run-uuid-1',
      test_run_id: 'TR-00001',
      replayed: false,
      result_requests: 3,
      run: { status: 'failed', total_scenarios: 2500 - skippedCount },
    });
    expect(state.runs.get('run-uuid-1')!.results).toHaveLength(2500);
  });

  it('sends exactly 1,000 results in the one POST /runs, and 1,001 in chunks', async () => {
    const thousand = await reportRun({ files: [bigJUnit(1000)], agent: 'ci', apiUrl: baseUrl, apiKey: KEY });
    expect(thousand.result_requests).toBe(1);
    const posts = state.seen.filter((s) => s.method === 'POST' && s.url.startsWith('/api/v1/runs'));
    expect(posts.map((p) => p.url)).toEqual(['/api/v1/runs']);
    expect((posts[0]!.body as { results: unknown[]; status: string }).results).toHaveLength(1000);
    expect(posts[0]!.idempotencyKey).toBe(thousand.idempotency_key);

    state.seen = [];
    const more = await reportRun({ files: [bigJUnit(1001)], agent: 'ci', apiUrl: baseUrl, apiKey: KEY });
    expect(more.result_requests).toBe(2);
    expect(
      state.seen
        .filter((s) => s.url.endsWith('/results'))
        .map((s) => (s.body as { results: unknown[] }).results.length),
    ).toEqual([1000, 1]);
  });

  it('makes one run when the CI step runs again: the finished run is answered, nothing is sent twice', async () => {
    const opts = { files: [bigJUnit(1500)], agent: 'ci', apiUrl: baseUrl, apiKey: KEY };
    const first = await reportRun(opts);
    state.seen = [];
    const again = await reportRun(opts);
    expect(state.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/agents?limit=100&offset=0',
      'POST /api/v1/runs',
      'GET /api/v1/runs/run-uuid-1',
    ]);
    expect(again).toMatchObject({
      id: first.id,
      test_run_id: first.test_run_id,
      replayed: true,
      result_requests: 0,
    });
    expect(again.run.status).toBe('failed');
    expect(state.runs.size).toBe(1);
  });

  it('finishes the run when the step that died after the first chunk runs again, without sending a result twice', async () => {
    const opts = { files: [bigJUnit(2500)], agent: 'ci', apiUrl: baseUrl, apiKey: KEY, retryDelaysMs: [] };
    state.dropChunk = 2;
    await expect(reportRun(opts)).rejects.toThrow(/results was refused: 503/);
    expect(state.runs.get('run-uuid-1')).toMatchObject({ status: 'running' });
    expect(state.runs.get('run-uuid-1')!.results).toHaveLength(1000);

    state.seen = [];
    const again = await reportRun(opts);
    // Chunk 1 is answered from its key; chunks 2 and 3 are new; the run is completed once.
    expect(
      state.seen
        .slice(1)
        .map((s) => `${s.method} ${s.url} ${s.idempotencyKey?.replace(again.idempotency_key, 'KEY')}`),
    ).toEqual([
      'POST /api/v1/runs KEY:create',
      'GET /api/v1/runs/run-uuid-1 undefined',
      'POST /api/v1/runs/run-uuid-1/results KEY:results:1',
      'POST /api/v1/runs/run-uuid-1/results KEY:results:2',
      'POST /api/v1/runs/run-uuid-1/results KEY:results:3',
      'POST /api/v1/runs/run-uuid-1/complete KEY:complete',
    ]);
    expect(state.runs.size).toBe(1);
    expect(state.runs.get('run-uuid-1')!.results).toHaveLength(2500);
    expect(again.run).toMatchObject({ status: 'failed' });
  });

  it('keeps every request under 1 MB: 400 results with 4,000-character messages go in chunks', async () => {
    const cases = Array.from(
      { length: 400 },
      (_, i) => `<testcase classname="c" name="t${i}"><failure message="${'é'.repeat(4500)}"/></testcase>`,
    ).join('');
    const path = `${tempDir()}/long.xml`;
    writeFileSync(path, `<testsuite name="long">${cases}</testsuite>`);
    const result = await reportRun({ files: [path], agent: 'ci', apiUrl: baseUrl, apiKey: KEY });
    const chunks = state.seen.filter((s) => s.url.endsWith('/results'));
    // Each message is cut to 4,000 characters of 2 bytes: about 8 kB a result, 124 a request.
    expect(chunks.map((c) => (c.body as { results: unknown[] }).results.length)).toEqual([124, 124, 124, 28]);
    for (const chunk of chunks) {
      expect(Buffer.byteLength(JSON.stringify(chunk.body))).toBeLessThanOrEqual(1_000_000);
    }
    expect(result).toMatchObject({ result_requests: 4, run: { status: 'failed', failed_count: 400 } });
  });

  it("passes a refused chunk on with the server's message (the run stays running, not completed)", async () => {
    state.refuseResults = {
      status: 413,
      body: JSON.stringify({ error: 'A run takes at most 10000 results', code: 'PAYLOAD_TOO_LARGE' }),
    };
    await expect(
      reportRun({ files: [bigJUnit(1200)], agent: 'ci', apiUrl: baseUrl, apiKey: KEY }),
    ).rejects.toThrow(
      'POST /api/v1/runs/run-uuid-1/results was refused: 413 PAYLOAD_TOO_LARGE A run takes at most 10000 results (the run TR-00001 was created and is left running',
    );
    expect(state.seen.some((s) => s.url.endsWith('/complete'))).toBe(false);
  });
});

/** Runs `runhook report …` as the CLI would, capturing what it prints and its exit code. */
async function runCli(args: string[], env: Record<string, string | undefined> = {}) {
  const program = new Command('runhook').exitOverride();
  let stderr = '';
  program.configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => {} });
  registerReportCommand(program);
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  for (const [name, value] of Object.entries({
    RUNHOOK_API_KEY: undefined,
    RUNHOOK_API_URL: undefined,
    ...env,
  })) {
    vi.stubEnv(name, value);
  }
  let exitCode = 0;
  try {
    await program.parseAsync(['node', 'runhook', 'report', ...args]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    exitCode = error.exitCode;
  } finally {
    vi.unstubAllEnvs();
  }
  return { exitCode, stdout, stderr };
}

describe('runhook report (command line)', () => {
  it('prints "<test_run_id> <results_url>" and reads the key and URL from the environment', async () => {
    const out = await runCli([fixture('node-test.xml'), '--agent', 'ci'], {
      RUNHOOK_API_KEY: KEY,
      RUNHOOK_API_URL: baseUrl,
    });
    expect(out).toEqual({
      exitCode: 0,
      stdout: `TR-00001 ${baseUrl}/runs/run-uuid-1\n`,
      stderr: 'runhook report: 4 passed, 2 failed, 0 errored, 3 skipped\n',
    });
  });

  it('says on stderr when the server answered the run made by an earlier try', async () => {
    state.replay = true;
    const out = await runCli([
      fixture('playwright.xml'),
      '--agent',
      'ci',
      '--api-url',
      baseUrl,
      '--api-key',
      KEY,
    ]);
    expect(out).toEqual({
      exitCode: 0,
      stdout: `TR-00001 ${baseUrl}/runs/run-uuid-1\n`,
      stderr:
        'runhook report: 2 passed, 1 failed, 1 errored, 1 skipped (already reported: this is the same run)\n',
    });
  });

  it('--json prints the run with its results_url', async () => {
    const out = await runCli([
      fixture('vitest.xml'),
      '--agent',
      'ci',
      '--json',
      '--api-url',
      baseUrl,
      '--api-key',
      KEY,
    ]);
    expect(JSON.parse(out.stdout)).toEqual({
      id: 'run-uuid-1',
      test_run_id: 'TR-00001',
      status: 'failed',
      results_url: `${baseUrl}/runs/run-uuid-1`,
    });
  });

  it('--suite-id sets test_suite_id; an empty or over-long one exits 2 before calling the server', async () => {
    const args = [fixture('vitest.xml'), '--agent', 'ci', '--api-url', baseUrl, '--api-key', KEY];
    const out = await runCli([...args, '--suite-id', 'triage-unit']);
    expect(out.exitCode).toBe(0);
    expect(state.seen.at(-1)!.body).toMatchObject({ test_suite_id: 'triage-unit', status: 'failed' });
    state.seen = [];
    for (const bad of ['', ' ', 's'.repeat(201)]) {
      const refused = await runCli([...args, '--suite-id', bad]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/--suite-id must be 1 to 200 characters/);
    }
    expect(state.seen).toEqual([]);
  });

  it('--group and --group-size join a run group; bad ones exit 2 before calling the server', async () => {
    const args = [fixture('vitest.xml'), '--agent', 'ci', '--api-url', baseUrl, '--api-key', KEY];
    const out = await runCli([...args, '--group', 'build-77', '--group-size', '4']);
    expect(out.exitCode, out.stderr).toBe(0);
    expect(state.seen.at(-1)!.body).toMatchObject({ group: 'build-77', group_size: 4, status: 'failed' });
    const withoutSize = await runCli([...args, '--group', 'build-78']);
    expect(withoutSize.exitCode).toBe(0);
    expect(state.seen.at(-1)!.body).toMatchObject({ group: 'build-78' });
    expect(state.seen.at(-1)!.body).not.toHaveProperty('group_size');
    state.seen = [];
    for (const [bad, message] of [
      [['--group', 'b', '--group-size', '0'], /--group-size must be a whole number of at least 1/],
      [['--group', 'b', '--group-size', '1.5'], /--group-size must be a whole number of at least 1/],
      [['--group', 'b', '--group-size', '-3'], /--group-size must be a whole number of at least 1/],
      [['--group', 'g'.repeat(201)], /--group must be 1 to 200 characters/],
      [['--group-size', '2'], /--group-size needs --group/],
    ] as const) {
      const refused = await runCli([...args, ...bad]);
      expect(refused.exitCode, bad.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
    expect(state.seen).toEqual([]);
  });

  it('exits 2 without an API key', async () => {
    const out = await runCli([fixture('vitest.xml'), '--agent', 'ci', '--api-url', baseUrl]);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toMatch(/no API key; pass --api-key or set RUNHOOK_API_KEY/);
    expect(state.seen).toEqual([]);
  });

  it('exits 2 on commander usage errors too: no --agent, no file, an unknown option', async () => {
    const cases = [
      { args: [fixture('vitest.xml')], message: /required option '--agent <name>' not specified/ },
      { args: ['--agent', 'ci'], message: /missing required argument 'files'/ },
      { args: [fixture('vitest.xml'), '--agent', 'ci', '--agnet', 'x'], message: /unknown option '--agnet'/ },
    ];
    for (const { args, message } of cases) {
      const out = await runCli([...args, '--api-url', baseUrl, '--api-key', KEY]);
      expect(out.exitCode, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(message);
    }
    expect(state.seen).toEqual([]);
  });

  it('exits 1 with the server refusal (a wrong key)', async () => {
    const out = await runCli([
      fixture('vitest.xml'),
      '--agent',
      'ci',
      '--api-url',
      baseUrl,
      '--api-key',
      'sk_live_wrong',
    ]);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(/refused: 401 UNAUTHORIZED Missing or invalid API key/);
    expect(out.stdout).toBe('');
  });

  it('exits 1 when the server is unreachable, after trying three times (1 s and 3 s apart)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const started = Date.now();
    const out = await runCli([
      fixture('vitest.xml'),
      '--agent',
      'ci',
      '--api-url',
      `http://127.0.0.1:${port}`,
      '--api-key',
      KEY,
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_900);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(new RegExp(`cannot reach Runhook at http://127.0.0.1:${port}: ECONNREFUSED`));
  }, 20_000);

  it('exits 1 on a file that is not JUnit, before calling the server', async () => {
    const out = await runCli([fixture('README.md'), '--agent', 'ci', '--api-url', baseUrl, '--api-key', KEY]);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(/README\.md/);
    expect(state.seen).toEqual([]);
  });
});
