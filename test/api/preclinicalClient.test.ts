/**
 * A client written from Preclinical's documented API (Bearer keys under /api/v1, runs started
 * with `agent_id` and `test_mode`, polled at `poll_url`, Test Webhook messages, agents edited
 * with a GET-then-PUT, receivers deduplicating on `test_run.id`), run unchanged against a real
 * `runhook serve` process on both backends.
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

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.apiKey}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text === '' ? null : JSON.parse(text);
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
  });
}
