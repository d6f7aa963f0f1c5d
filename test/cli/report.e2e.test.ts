/**
 * JUnit file → `runhook report` → a real Runhook server → the real delivery worker → a webhook
 * received by a real HTTP server on 127.0.0.1, whose counts and failures must match the file;
 * every test case kept as a scenario result (in chunks above 1,000); and the same CI step run
 * twice makes one run. On every backend.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../sdk/index.js';
import { reportRun } from '../../src/cli/report.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/junit/${name}`, import.meta.url));
const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

for (const backend of backends) {
  describe(`runhook report against a real server (${backend.name})`, () => {
    let db: TestDatabase;
    let server: RealServer;
    let receiver: Receiver;

    beforeAll(async () => {
      db = await backend.create();
      [server, receiver] = await Promise.all([startRealServer({ databaseUrl: db.url }), startReceiver()]);
      const created = await server.api('POST', '/webhooks', { url: receiver.url, secret: SECRET });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }, 120_000);

    afterAll(async () => {
      await Promise.all([server?.stop(), receiver?.close()]);
      await db?.drop();
    });

    it('turns JUnit files into a run and a delivered test_run_completed with the same counts and failures', async () => {
      const result = await reportRun({
        files: [fixture('pytest.xml'), fixture('jenkins-style.xml')],
        agent: 'Healthcare Assistant',
        apiUrl: server.baseUrl,
        apiKey: server.apiKey,
        name: 'Nightly regression',
      });
      expect(result.test_run_id).toMatch(/^TR-\d{5}$/);
      expect(result.results_url).toBe(`${server.baseUrl}/runs/${result.id}`);

      await receiver.waitFor(1, 15_000);
      const delivery = receiver.requests[0]!;
      const event = verifyWebhook(delivery.body, delivery.headers, SECRET);
      if (event.event !== 'test_run_completed') throw new Error(`unexpected event ${event.event}`);
      // pytest.xml 3/1/1/2 + jenkins-style.xml 5/1/2/2 (passed/failed/errored/skipped)
      expect(event.test_run).toMatchObject({
        id: result.id,
        test_run_id: result.test_run_id,
        name: 'Nightly regression',
        agent_name: 'Healthcare Assistant',
        status: 'failed',
        passed_count: 8,
        failed_count: 2,
        error_count: 3,
        total_scenarios: 13,
        pass_rate: 61.54,
        // jenkins-style.xml's nested suite started first (local time); pytest.xml ended last.
        started_at: `${new Date('2026-01-30T10:29:30').toISOString().slice(0, 19)}Z`,
        completed_at: '2026-11-23T09:40:55Z',
      });
      expect((event.test_run as unknown as { failures: unknown[] }).failures).toEqual([
        {
          name: 'test_fails_on_purpose',
          classname: 'test_triage',
          file: null,
          message: expect.stringMatching(
            /^AssertionError: assert \{'pass_rate': 85\} == \{'pass_rate': 90\}\n/,
          ),
          kind: 'failed',
        },
        {
          name: 'test_needs_database',
          classname: 'test_triage',
          file: null,
          message: 'failed on setup with "ConnectionError: database is not reachable"',
          kind: 'error',
        },
        {
          name: 'handlesOverdose',
          classname: 'triage.EmergencyTest',
          file: null,
          message: 'expected ESCALATE but was ADVISE',
          kind: 'failed',
        },
        {
          name: 'cancelsAppointment',
          classname: 'scheduling.BookingTest',
          file: null,
          message: 'Connection refused',
          kind: 'error',
        },
        {
          name: 'timesOutOnProvider',
          classname: 'scheduling.ReminderTest',
          file: null,
          message: 'java.util.concurrent.TimeoutException',
          kind: 'error',
        },
      ]);
      expect(event.results_url).toBe(result.results_url);

      // GET /runs/{id} keeps the failures.
      const stored = await server.api('GET', `/runs/${result.id}`);
      expect(stored.json.failures).toHaveLength(5);

      // Every test case is a scenario result, skipped ones too; the Surefire rerun has attempts.
      const scenarios = await server.api('GET', `/scenario-runs?test_run_id=${result.test_run_id}&limit=100`);
      expect(scenarios.status, JSON.stringify(scenarios.json)).toBe(200);
      expect(scenarios.json.total).toBe(17);
      const byName = new Map(
        (scenarios.json.scenario_runs as { scenario_name: string }[]).map((s) => [s.scenario_name, s]),
      );
      expect(byName.get('flakyButPassedOnRerun')).toMatchObject({
        suite: 'triage.EmergencyTest',
        status: 'passed',
        passed: true,
        attempts: 2,
        duration_ms: 500,
      });
      expect(byName.get('test_pediatrics')).toMatchObject({
        suite: 'test_triage',
        status: 'skipped',
        passed: null,
      });
      expect(byName.get('handlesOverdose')).toMatchObject({
        status: 'failed',
        passed: false,
        error_message: 'expected ESCALATE but was ADVISE',
      });
    });

    it('sends 2,500 results in chunks: one run with every result, its counts, its suite id, and one delivery when run twice', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'runhook-report-e2e-'));
      try {
        const cases: string[] = [];
        // The first 50 tests failed once before passing (a rerun written as a second test case).
        for (let i = 0; i < 50; i++) {
          cases.push(
            `<testcase classname="suite0" name="test ${i}"><failure message="first try"/></testcase>`,
          );
        }
        for (let i = 0; i < 2500; i++) {
          const outcome =
            i % 100 === 7 ? `<failure message="case ${i} broke"/>` : i % 100 === 9 ? '<skipped/>' : '';
          cases.push(
            `<testcase classname="suite${Math.floor(i / 500)}" name="test ${i}" time="0.01">${outcome}</testcase>`,
          );
        }
        const file = join(dir, 'big.xml');
        writeFileSync(
          file,
          `<testsuite name="Big regression" timestamp="2026-03-01T08:00:00Z" time="90">${cases.join('')}</testsuite>`,
        );
        const deliveriesBefore = (await server.api('GET', '/deliveries?limit=1')).json.total as number;
        const opts = {
          files: [file],
          agent: 'Big Bot',
          apiUrl: server.baseUrl,
          apiKey: server.apiKey,
          suiteId: 'big-regression',
        };
        const result = await reportRun(opts);
        expect(result.result_requests).toBe(3);
        const run = await server.api('GET', `/runs/${result.id}`);
        expect(run.json).toMatchObject({
          status: 'failed',
          test_suite_id: 'big-regression',
          name: 'Big regression',
          passed_count: 2450,
          failed_count: 25,
          error_count: 0,
          total_scenarios: 2475,
          started_at: '2026-03-01T08:00:00Z',
          completed_at: '2026-03-01T08:01:30Z',
        });
        const scenarios = await server.api('GET', `/scenario-runs?test_run_id=${result.id}&limit=1`);
        expect(scenarios.json.total).toBe(2500);
        const failed = await server.api(
          'GET',
          `/scenario-runs?test_run_id=${result.id}&status=failed&limit=100`,
        );
        expect(failed.json.total).toBe(25);

        // The same step again: the same run, nothing sent twice, one delivery.
        const again = await reportRun(opts);
        expect(again).toMatchObject({ id: result.id, replayed: true, result_requests: 0 });
        expect((await server.api('GET', `/scenario-runs?test_run_id=${result.id}&limit=1`)).json.total).toBe(
          2500,
        );
        const deliveries = await server.api('GET', '/deliveries?limit=1');
        expect(deliveries.json.total).toBe(deliveriesBefore + 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('makes one run and one delivery when the same CI step runs twice, and a second agent lookup finds the agent', async () => {
      const before = receiver.requests.length;
      const runsBefore = (await server.api('GET', '/runs?limit=100')).json.total as number;
      const args = [
        'report',
        fixture('playwright.xml'),
        '--agent',
        'Healthcare Assistant',
        '--api-url',
        server.baseUrl,
        '--api-key',
        server.apiKey,
      ];
      const deliveriesBefore = (await server.api('GET', '/deliveries?limit=1')).json.total as number;
      const first = runCli(args, {});
      expect(await first.exited, first.output()).toBe(0);
      const second = runCli(args, {});
      expect(await second.exited, second.output()).toBe(0);
      expect(second.output()).toMatch(/already reported: this is the same run/);
      // Both print the same "<test_run_id> <results_url>".
      const line = (out: string) => out.split('\n').find((l) => /^TR-\d{5} http/.test(l));
      expect(line(first.output())).toMatch(/^TR-\d{5} http/);
      expect(line(second.output())).toBe(line(first.output()));

      const runs = await server.api('GET', '/runs?limit=100');
      expect(runs.json.total).toBe(runsBefore + 1);
      const run = runs.json.runs.find((r: { name: string }) => r.name === 'booking.spec.js');
      expect(run).toMatchObject({
        status: 'failed',
        passed_count: 2,
        failed_count: 1,
        error_count: 1,
        total_scenarios: 4,
        started_at: '2026-12-01T00:15:29Z',
        completed_at: '2026-12-01T00:15:35Z',
        duration_seconds: 5,
      });
      const agents = await server.api('GET', '/agents?limit=100');
      expect(
        agents.json.agents.filter((a: { name: string }) => a.name === 'Healthcare Assistant'),
      ).toHaveLength(1);

      // One run, one event, one delivery (each event is stored with its run, so a second run
      // would show here at once).
      const deliveries = await server.api('GET', '/deliveries?limit=1');
      expect(deliveries.json.total).toBe(deliveriesBefore + 1);
      await receiver.waitFor(before + 1, 15_000);
    });

    it('makes one run when two jobs report the same file at the same moment (and one agent)', async () => {
      const runsBefore = (await server.api('GET', '/runs?limit=1')).json.total as number;
      const args = [
        'report',
        fixture('jest-junit.xml'),
        '--agent',
        'Parallel Bot',
        '--api-url',
        server.baseUrl,
        '--api-key',
        server.apiKey,
      ];
      const jobs = [runCli(args, {}), runCli(args, {})];
      const codes = await Promise.all(jobs.map((job) => job.exited));
      expect(codes, jobs.map((job) => job.output()).join('\n---\n')).toEqual([0, 0]);
      const lines = jobs.map((job) =>
        job
          .output()
          .split('\n')
          .find((l) => /^TR-\d{5} http/.test(l)),
      );
      expect(lines[0]).toMatch(/^TR-\d{5} http/);
      expect(lines[1]).toBe(lines[0]);
      expect((await server.api('GET', '/runs?limit=1')).json.total).toBe(runsBefore + 1);
      const agents = await server.api('GET', '/agents?limit=100');
      expect(agents.json.agents.filter((a: { name: string }) => a.name === 'Parallel Bot')).toHaveLength(1);
    });
  });
}
