/**
 * JUnit file → `reportRun` → a real Runhook server → the real delivery worker → a webhook
 * received by a real HTTP server on 127.0.0.1, whose counts must match the file.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyWebhook } from '../../sdk/index.js';
import { reportRun } from '../../src/cli/report.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/junit/${name}`, import.meta.url));
const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

let server: RealServer;
let receiver: Receiver;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startRealServer(), startReceiver()]);
  const created = await server.api('POST', '/webhooks', { url: receiver.url, secret: SECRET });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});

it('turns JUnit files into a run and a delivered test_run_completed with the same counts', async () => {
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
    started_at: result.summary.startedAt,
  });
  expect(event.results_url).toBe(result.results_url);
  expect(delivery.headers['webhook-id']).toBeTruthy();

  // The run is as the API tells it, and a second report finds the agent instead of creating one.
  const again = await reportRun({
    files: [fixture('vitest.xml')],
    agent: 'Healthcare Assistant',
    apiUrl: server.baseUrl,
    apiKey: server.apiKey,
  });
  const agents = await server.api('GET', '/agents?limit=100');
  expect(agents.json.agents.filter((a: { name: string }) => a.name === 'Healthcare Assistant')).toHaveLength(
    1,
  );
  await receiver.waitFor(2, 15_000);
  const second = verifyWebhook(receiver.requests[1]!.body, receiver.requests[1]!.headers, SECRET);
  expect(second.test_run).toMatchObject({
    id: again.id,
    name: 'triage.test.ts',
    passed_count: 3,
    failed_count: 2,
    error_count: 0,
    total_scenarios: 5,
  });
});
