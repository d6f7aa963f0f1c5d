/**
 * A client written from Preclinical's documented API (Bearer keys under /api/v1, runs started
 * with `agent_id` and `test_mode`, polled at `poll_url`, Test Webhook messages, agents edited
 * with a GET-then-PUT, receivers deduplicating on `test_run.id`; agents with a provider config
 * checked by validate, test suites, runs that pass through `grading`, cancel and its message),
 * run unchanged against a real `runhook serve` process on both backends.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';

/** What a Preclinical user's script looks like: plain fetch, the documented paths and fields. */
class PreclinicalClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** The status and parsed body, whatever the status. */
  async raw(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.apiKey}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  }

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.raw(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** As the Create Agent page shows: provider, name, description, config. */
  createVapiAgent(name: string, config: Record<string, string>) {
    return this.call('POST', '/api/v1/agents', {
      provider: 'vapi',
      name,
      description: 'Production voice agent for patient triage',
      config,
    });
  }

  updateAgentConfig(id: string, config: Record<string, string>) {
    return this.call('PUT', `/api/v1/agents/${id}`, { config });
  }

  listAgents(provider: string) {
    return this.call('GET', `/api/v1/agents?provider=${provider}`);
  }

  validateAgent(id: string) {
    return this.call('POST', `/api/v1/agents/${id}/validate`);
  }

  createTestSuite(name: string, scenarioIds: string[]) {
    return this.call('POST', '/api/v1/test-suites', {
      name,
      description: 'High-priority emergency scenarios',
      scenario_ids: scenarioIds,
    });
  }

  listTestSuites() {
    return this.call('GET', '/api/v1/test-suites');
  }

  getTestSuite(id: string) {
    return this.call('GET', `/api/v1/test-suites/${id}`);
  }

  startSuiteRun(agentId: string, testSuiteId: string) {
    return this.call('POST', '/api/v1/runs', {
      agent_id: agentId,
      test_suite_id: testSuiteId,
      test_mode: 'full',
    });
  }

  listRuns(status: string) {
    return this.call('GET', `/api/v1/runs?status=${status}`);
  }

  cancelRun(id: string) {
    return this.raw('POST', `/api/v1/runs/${id}/cancel`);
  }

  createAgent(name: string) {
    return this.call('POST', '/api/v1/agents', { name, description: null });
  }

  /** Edit as the docs show: read the agent, change a field, send the object back. */
  async renameAgent(id: string, name: string) {
    const { id: _id, created_at, updated_at, ...agent } = await this.call('GET', `/api/v1/agents/${id}`);
    return this.call('PUT', `/api/v1/agents/${id}`, { ...agent, name });
  }

  setOrgWebhook(url: string, secret: string) {
    return this.call('POST', '/api/v1/webhooks', { url, secret, description: null });
  }

  testWebhook(id: string) {
    return this.call('POST', `/api/v1/webhooks/${id}/test`);
  }

  startRun(agentId: string) {
    return this.call('POST', '/api/v1/runs', {
      agent_id: agentId,
      test_mode: 'demo',
      test_suite_id: 'triage-suite',
      max_scenarios: 20,
      max_turns: 8,
    });
  }

  /** Polls `poll_url` until the run has finished. */
  async waitForRun(pollUrl: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.call('GET', pollUrl);
      if (['completed', 'failed', 'canceled'].includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run still ${run.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The platform's side, standing in for Preclinical's runner: the run ends. */
  /** The platform's side again: every conversation is done, grading starts. */
  startGrading(id: string) {
    return this.call('PATCH', `/api/v1/runs/${id}`, { status: 'grading' });
  }

  finishRun(id: string) {
    return this.call('POST', `/api/v1/runs/${id}/complete`, {
      status: 'completed',
      passed_count: 17,
      failed_count: 3,
      error_count: 0,
    });
  }
}

const SECRET = 'preclinical-signing-secret';

for (const backend of backends) {
  describe(`a client written from Preclinical's docs [${backend.name}]`, () => {
    let server: RealServer | undefined;
    let db: TestDatabase | undefined;
    let receiver: Receiver | undefined;
    afterEach(async () => {
      await server?.stop();
      await db?.drop();
      await receiver?.close();
      server = db = receiver = undefined;
    });

    it('works unchanged: agent round trip, webhook test, run with test_mode polled at poll_url, one delivery', async () => {
      db = await backend.create();
      [server, receiver] = await Promise.all([startRealServer({ databaseUrl: db.url }), startReceiver()]);
      const client = new PreclinicalClient(server.baseUrl, server.apiKey);

      const agent = await client.createAgent('Healthcare Assistant');
      expect(agent.description).toBeNull();
      expect((await client.renameAgent(agent.id, 'Healthcare Assistant v2')).name).toBe(
        'Healthcare Assistant v2',
      );

      const webhook = await client.setOrgWebhook(receiver.url, SECRET);
      expect(await client.testWebhook(webhook.id)).toMatchObject({
        success: true,
        message: 'Test webhook delivered successfully',
      });
      receiver.behaviour = { kind: 'status', status: 500 };
      expect(await client.testWebhook(webhook.id)).toMatchObject({
        success: false,
        message: 'Webhook returned HTTP 500',
      });
      receiver.behaviour = { kind: 'status', status: 200 };

      const started = await client.startRun(agent.id);
      expect(started).toMatchObject({
        status: 'running',
        test_mode: 'demo',
        test_suite_id: 'triage-suite',
        max_scenarios: 20,
        max_turns: 8,
        poll_url: `/api/v1/runs/${started.id}`,
      });
      const [finished] = await Promise.all([
        client.waitForRun(started.poll_url),
        client.finishRun(started.id),
      ]);
      expect(finished).toMatchObject({ status: 'completed', pass_rate: 85, test_mode: 'demo' });

      // The receiver, as Preclinical's docs advise: check the signature, deduplicate on test_run.id.
      await receiver.waitFor(3);
      const runEvents = receiver.requests.slice(2).map((r) => {
        expect(r.headers['x-runhook-signature']).toBe(
          `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`,
        );
        return JSON.parse(r.body);
      });
      const seen = new Set(runEvents.map((e) => e.test_run.id));
      expect([...seen]).toEqual([started.id]);
      expect(runEvents[0]).toMatchObject({
        event: 'test_run_completed',
        test_run: { id: started.id, test_run_id: started.test_run_id, status: 'completed', pass_rate: 85 },
      });
    });

    it('works unchanged: provider config and validate, test suites, a run that goes through grading, cancel', async () => {
      db = await backend.create();
      server = await startRealServer({ databaseUrl: db.url });
      const client = new PreclinicalClient(server.baseUrl, server.apiKey);

      const agent = await client.createVapiAgent('Triage line', { assistant_id: 'asst_abc123' });
      expect(agent).toMatchObject({ provider: 'vapi', has_config: true });
      expect(JSON.stringify(agent)).not.toContain('asst_abc123');
      // The pre-flight check of the docs: invalid until the key is there.
      const before = await client.validateAgent(agent.id);
      expect(before).toEqual({
        valid: false,
        message: 'config is missing api_key',
        details: { error_code: 'MISSING_CONFIG_FIELD', field: 'api_key' },
      });
      await client.updateAgentConfig(agent.id, { assistant_id: 'asst_abc123', api_key: 'va_xxx' });
      expect((await client.validateAgent(agent.id)).valid).toBe(true);
      expect((await client.listAgents('vapi')).agents.map((a: { id: string }) => a.id)).toEqual([agent.id]);
      expect((await client.listAgents('retell')).agents).toEqual([]);

      const suite = await client.createTestSuite('Critical Care Scenarios', ['s-1', 's-2', 's-3']);
      expect(suite).toMatchObject({ name: 'Critical Care Scenarios', scenario_count: 3 });
      expect((await client.listTestSuites()).test_suites).toHaveLength(1);
      expect((await client.getTestSuite(suite.id)).scenario_ids).toEqual(['s-1', 's-2', 's-3']);

      const run = await client.startSuiteRun(agent.id, suite.id);
      expect(run).toMatchObject({ status: 'running', test_suite_id: suite.id, test_suite_name: suite.name });
      await client.startGrading(run.id);
      expect((await client.listRuns('grading')).runs.map((r: { id: string }) => r.id)).toEqual([run.id]);
      const [finished] = await Promise.all([client.waitForRun(run.poll_url), client.finishRun(run.id)]);
      expect(finished).toMatchObject({ status: 'completed', test_suite_name: 'Critical Care Scenarios' });

      // Cancel on timeout, as the Cancel Run page shows; the run that ended cannot be canceled.
      const other = await client.startSuiteRun(agent.id, suite.id);
      const canceled = await client.cancelRun(other.id);
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({
        id: other.id,
        status: 'canceled',
        message: 'Test run cancellation initiated',
      });
      for (const id of [other.id, run.id]) {
        const refused = await client.cancelRun(id);
        expect(refused.status).toBe(409);
        expect(refused.body.code).toBe('INVALID_STATE');
      }
      expect((await client.cancelRun(run.id)).body.details).toMatchObject({ current_status: 'completed' });
    });
  });
}
