/**
 * `runhook report` against a small HTTP server that answers like docs/api.md describes, to pin
 * down the client's side: paging through agents, the create race (409), the request body, and
 * how refusals and an unreachable server surface. The real server is exercised by
 * report.e2e.test.ts.
 */
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
  body: unknown;
}

/** What the server does next; tests change it. */
const state = {
  agents: [] as { id: string; name: string }[],
  seen: [] as Seen[],
  /** Agents created by "another CI job" just before our POST /agents arrives. */
  raceOnCreate: false,
  refuseRuns: null as null | { status: number; body: string },
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
    state.seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
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
      if (state.refuseRuns) {
        res.writeHead(state.refuseRuns.status, { 'content-type': 'application/json' });
        return res.end(state.refuseRuns.body);
      }
      return send(201, {
        id: 'run-uuid-1',
        test_run_id: 'TR-00001',
        status: (body as { status: string }).status,
      });
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
    expect(state.seen.at(-1)!.body).toEqual({
      agent_id: 'agent-230',
      name: 'pytest tests',
      status: 'failed',
      passed_count: 8,
      failed_count: 2,
      error_count: 3,
      total_scenarios: 13,
      started_at: expect.stringMatching(/^2026-01-30T\d\d:\d\d:30Z$/),
    });
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
      started_at: '2026-11-23T09:40:55Z',
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
    expect(state.seen.at(-1)!.body).toEqual({
      agent_id: 'agent-1',
      name: 'green',
      status: 'completed',
      passed_count: 1,
      failed_count: 0,
      error_count: 0,
      total_scenarios: 1,
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

  it('says so when the server answers something that is not JSON', async () => {
    state.refuseRuns = { status: 502, body: '<html>Bad Gateway</html>' };
    await expect(
      reportRun({ files: [fixture('pytest.xml')], agent: 'ci', apiUrl: baseUrl, apiKey: KEY }),
    ).rejects.toThrow(/answered 502 with a body that is not JSON: <html>Bad Gateway/);
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

  it('exits 1 when the server is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const out = await runCli([
      fixture('vitest.xml'),
      '--agent',
      'ci',
      '--api-url',
      `http://127.0.0.1:${port}`,
      '--api-key',
      KEY,
    ]);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(new RegExp(`cannot reach Runhook at http://127.0.0.1:${port}: ECONNREFUSED`));
  });

  it('exits 1 on a file that is not JUnit, before calling the server', async () => {
    const out = await runCli([fixture('README.md'), '--agent', 'ci', '--api-url', baseUrl, '--api-key', KEY]);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(/README\.md/);
    expect(state.seen).toEqual([]);
  });
});
