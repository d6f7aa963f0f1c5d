/**
 * JUnit file → `runhook report` → a real Runhook server → the real delivery worker → a webhook
 * received by a real HTTP server on 127.0.0.1, whose counts and failures must match the file.
 * On every backend.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../sdk/index.js';
import { reportRun } from '../../src/cli/report.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
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
      expect(event.event).toBe('test_run_completed');
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
    });
  });
}
