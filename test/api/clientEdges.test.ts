/**
 * Edges a client written against the contract runs into, through the real app on both backends:
 * POSTs that take no body still refuse unknown fields (docs/api.md#conventions), a test whose
 * failures had no message reads `last_failure_message: null` like a scenario run's
 * `error_message`, and a scope takes several webhooks — the error table's 409 row no longer
 * claims otherwise.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { ROOT } from '../helpers/cli.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const expectErrorShape = (body: Record<string, unknown>, code: string) => {
  expect(body.code).toBe(code);
  expect(typeof body.error).toBe('string');
  expect(Object.keys(body).every((k) => ['error', 'code', 'details'].includes(k))).toBe(true);
};

for (const backend of backends) {
  describe(`what a client runs into [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let agentId: string;
    beforeEach(async () => {
      ctx = await createTestContext(backend, { worker: true });
      receiver = await startReceiver();
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent', provider: 'openai' })).body.id;
    });
    afterEach(async () => {
      await ctx.close();
      await receiver.close();
    });

    it('validate, redeliver and rotate-key take no body or {}, and refuse unknown fields', async () => {
      const hook = await ctx.api('POST', '/api/v1/webhooks', {
        url: receiver.url,
        signature_scheme: 'ed25519',
      });
      expect(hook.status).toBe(201);
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        passed_count: 1,
      });
      expect(run.status).toBe(201);
      await receiver.waitFor(1);
      // The receiver answers before the worker records the result: a delivery still in flight
      // cannot be redelivered (409), so wait until its success is stored.
      const deliveryId = await eventually(
        async () => {
          const list = await ctx.api('GET', `/api/v1/deliveries?webhook_id=${hook.body.id}`);
          const first = list.body.deliveries[0];
          return first?.status === 'succeeded' ? (first.id as string) : undefined;
        },
        10_000,
        'the delivery recorded as succeeded',
      );

      const routes = [
        `/api/v1/agents/${agentId}/validate`,
        `/api/v1/deliveries/${deliveryId}/redeliver`,
        `/api/v1/webhooks/${hook.body.id}/rotate-key`,
      ];
      for (const path of routes) {
        const unknown = await ctx.api('POST', path, { dry_run: true });
        expect(unknown.status, path).toBe(400);
        expectErrorShape(unknown.body, 'INVALID_FIELD_VALUE');
        expect(unknown.body.details).toEqual({ field: 'dry_run' });
        const notObject = await ctx.api('POST', path, [1]);
        expect(notObject.status, path).toBe(400);
        expectErrorShape(notObject.body, 'INVALID_JSON');
      }
      // Refused requests changed nothing: the key pair is the one made on create.
      const same = await ctx.api('GET', `/api/v1/webhooks/${hook.body.id}`);
      expect(same.body.public_key).toBe(hook.body.public_key);
      expect(same.body.previous_public_key).toBeNull();

      const validate = await ctx.api('POST', routes[0]!, {});
      expect(validate.status).toBe(200);
      expect(validate.body.details.error_code).toBe('MISSING_CONFIG');
      expect((await ctx.api('POST', routes[0]!)).status).toBe(200);
      const redeliver = await ctx.api('POST', routes[1]!, {});
      expect(redeliver.status).toBe(202);
      const rotate = await ctx.api('POST', routes[2]!);
      expect(rotate.status).toBe(200);
      expect(rotate.body.previous_public_key).toBe(hook.body.public_key);
    });

    it('a test whose failure had no message reads last_failure_message null, as its error_message', async () => {
      const run = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'failed',
        results: [
          { name: 'quiet', status: 'error' },
          { name: 'loud', status: 'failed', message: 'expected a referral' },
        ],
      });
      expect(run.status).toBe(201);
      const tests = await ctx.api('GET', `/api/v1/agents/${agentId}/tests?state=failing`);
      expect(tests.status).toBe(200);
      const byName = Object.fromEntries(
        tests.body.tests.map((t: { name: string; last_failure_message: unknown }) => [
          t.name,
          t.last_failure_message,
        ]),
      );
      expect(byName).toEqual({ quiet: null, loud: 'expected a referral' });
      const scenario = await ctx.api('GET', `/api/v1/scenario-runs?test_run_id=${run.body.test_run_id}`);
      const quiet = scenario.body.scenario_runs.find(
        (s: { scenario_name: string }) => s.scenario_name === 'quiet',
      );
      expect(quiet.error_message).toBeNull();
      const history = await ctx.api('GET', `/api/v1/agents/${agentId}/tests/${quiet.scenario_id}/history`);
      expect(history.body.test.last_failure_message).toBeNull();
    });

    it('points awarded beyond max_points are a 400 naming the field, on a finished run and in a chunk', async () => {
      const over = [
        [
          { name: 'a', status: 'passed', score: { points_awarded: 5, max_points: 2 } },
          'results.0.score.points_awarded',
        ],
        [
          {
            name: 'b',
            status: 'failed',
            criteria: [
              { criterion: 'ok', decision: 'MET', points_awarded: 1, max_points: 1 },
              { criterion: 'refers', decision: 'MET', points_awarded: 4, max_points: 3 },
            ],
          },
          'results.0.criteria.1.points_awarded',
        ],
      ] as const;
      const open = await ctx.api('POST', '/api/v1/runs', { agent_id: agentId });
      for (const [result, field] of over) {
        const finished = await ctx.api('POST', '/api/v1/runs', {
          agent_id: agentId,
          status: 'completed',
          results: [result],
        });
        expect(finished.status).toBe(400);
        expectErrorShape(finished.body, 'INVALID_FIELD_VALUE');
        expect(finished.body.details.field).toBe(field);
        const chunk = await ctx.api('POST', `/api/v1/runs/${open.body.id}/results`, { results: [result] });
        expect(chunk.status).toBe(400);
        expect(chunk.body.details.field).toBe(field);
      }
      // Nothing was stored: the open run is the only one, and it has no results.
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
      expect((await ctx.api('GET', `/api/v1/runs/${open.body.id}/results`)).body.total).toBe(0);
      const equal = await ctx.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        status: 'completed',
        results: [{ name: 'a', status: 'passed', score: { points_awarded: 2, max_points: 2 } }],
      });
      expect(equal.status).toBe(201);
      expect(equal.body.score).toBe(100);
    });

    it('a value of the wrong type is named in words: "an object or null", "a whole number"', async () => {
      const cases = [
        ['/api/v1/agents', { name: 'typed', config: 'str' }, 'config', 'config must be an object or null'],
        [
          '/api/v1/runs',
          { agent_id: agentId, status: 'completed', passed_count: 1.5 },
          'passed_count',
          'passed_count must be a whole number',
        ],
        [
          '/api/v1/webhooks',
          { url: receiver.url, is_enabled: 'yes' },
          'is_enabled',
          'is_enabled must be true or false',
        ],
      ] as const;
      for (const [path, body, field, message] of cases) {
        const res = await ctx.api('POST', path, body);
        expect(res.status).toBe(400);
        expectErrorShape(res.body, 'INVALID_FIELD_VALUE');
        expect(res.body).toEqual({ error: message, code: 'INVALID_FIELD_VALUE', details: { field } });
      }
    });

    it('a second org-level and a second agent webhook are 201, and the docs do not call them a 409', async () => {
      for (const agent of [null, agentId]) {
        for (let i = 0; i < 2; i++) {
          const res = await ctx.api('POST', '/api/v1/webhooks', { url: receiver.url, agent_id: agent });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
        }
        const list = await ctx.api('GET', `/api/v1/webhooks${agent ? `?agent_id=${agent}` : ''}`);
        expect(list.body.webhooks.filter((w: { agent_id: unknown }) => w.agent_id === agent)).toHaveLength(2);
      }
      const api = readFileSync(`${ROOT}docs/api.md`, 'utf8');
      const conflictRow = api.split('\n').find((l) => l.startsWith('| 409 | `ALREADY_EXISTS`'));
      expect(conflictRow).toBeDefined();
      expect(conflictRow).not.toMatch(/second org-level webhook|second webhook for one agent/);
    });
  });
}
