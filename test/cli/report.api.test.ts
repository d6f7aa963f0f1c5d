/**
 * `runhook report` against a small HTTP server that answers like docs/api.md describes, to pin
 * down the client's side: paging through agents, the create race (409), the request body, and
 * how refusals and an unreachable server surface. The real server is exercised by
 * report.e2e.test.ts.
 */
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** What the server does next; tests change it. */
const state = {
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
    if (req.method === 'POST' && url.pathname === '/api/v1/runs') {
      if (state.flaky.times > 0) {
        state.flaky.times -= 1;
        const headers: Record<string, string> = state.flaky.retryAfter
          ? { 'retry-after': state.flaky.retryAfter }
          : {};
        return send(state.flaky.status, { error: 'try again later', code: 'RATE_LIMITED' }, headers);
      }
      if (state.refuseRuns) {
        res.writeHead(state.refuseRuns.status, { 'content-type': 'application/json' });
        return res.end(state.refuseRuns.body);
      }
      return send(
        201,
        { id: 'run-uuid-1', test_run_id: 'TR-00001', status: (body as { status: string }).status },
        state.replay ? { 'idempotent-replayed': 'true' } : {},
      );
    }
    send(404, { error: 'Not found', code: 'NOT_FOUND' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

afterEach(() => {
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
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const path = `${mkdtempSync('/tmp/runhook-report-')}/green.xml`;
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

  it('exits 2 without an API key', async () => {
    const out = await runCli([fixture('vitest.xml'), '--agent', 'ci', '--api-url', baseUrl]);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toMatch(/no API key; pass --api-key or set RUNHOOK_API_KEY/);
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
