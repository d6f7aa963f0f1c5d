/**
 * Idempotency-Key (docs/api.md#idempotency) through the real app on both backends: a retried CI
 * step makes one run, identical requests racing make one run and one event, a reused key with
 * another request is refused, and kept answers expire.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRetentionSweeper } from '../../src/retention/sweeper.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';

interface Answer {
  status: number;
  body: any;
  raw: string;
  replayed: boolean;
}

for (const backend of backends) {
  describe(`Idempotency-Key [${backend.name}]`, () => {
    let ctx: TestContext;
    let agentId: string;
    beforeEach(async () => {
      ctx = await createTestContext(backend);
      agentId = (await ctx.api('POST', '/api/v1/agents', { name: 'Agent' })).body.id;
    });
    afterEach(async () => {
      await ctx.close();
    });

    async function post(path: string, body: unknown, key?: string, apiKey = ctx.apiKey): Promise<Answer> {
      const res = await ctx.app.inject({
        method: 'POST',
        url: path,
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          ...(key !== undefined && { 'idempotency-key': key }),
        },
        payload: JSON.stringify(body),
      });
      return {
        status: res.statusCode,
        body: res.body === '' ? undefined : JSON.parse(res.body),
        raw: res.body,
        replayed: res.headers['idempotent-replayed'] === 'true',
      };
    }

    const finished = () => ({ agent_id: agentId, name: 'Nightly', status: 'completed', passed_count: 3 });
    const count = async (table: string) => {
      const raw = await openRawSql(ctx.db.url);
      try {
        return await raw.count(`SELECT count(*) FROM ${table}`);
      } finally {
        await raw.close();
      }
    };

    it('a retried POST /runs answers the first answer again, marked as replayed, and creates nothing', async () => {
      await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/hook' });
      const first = await post('/api/v1/runs', finished(), 'ci-step-1');
      expect(first.status).toBe(201);
      expect(first.replayed).toBe(false);
      const again = await post('/api/v1/runs', finished(), 'ci-step-1');
      expect(again.status).toBe(201);
      expect(again.replayed).toBe(true);
      expect(again.raw).toBe(first.raw);
      // Key order in the body does not make it another request.
      const reordered = await post(
        '/api/v1/runs',
        { passed_count: 3, status: 'completed', name: 'Nightly', agent_id: agentId },
        'ci-step-1',
      );
      expect(reordered.replayed).toBe(true);
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
      expect(await count('events')).toBe(1);
      expect(await count('deliveries')).toBe(1);
      // Without a key, the same body is a new run.
      expect((await post('/api/v1/runs', finished())).body.test_run_id).toBe('TR-00002');
    });

    it('10 concurrent identical requests make one run and one event; all get the same answer', async () => {
      await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/hook' });
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => post('/api/v1/runs', finished(), 'race-1')),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      expect(new Set(answers.map((a) => a.raw)).size).toBe(1);
      expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
      expect(await count('test_runs')).toBe(1);
      expect(await count('events')).toBe(1);
      expect(await count('deliveries')).toBe(1);
    });

    it('10 concurrent identical /complete calls finish the run once, and all answer 200', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId })).body;
      const body = {
        status: 'failed',
        passed_count: 1,
        failed_count: 2,
        failures: [{ name: 'a' }, { name: 'b' }],
      };
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => post(`/api/v1/runs/${run.id}/complete`, body, 'finish-1')),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(new Set(answers.map((a) => a.raw)).size).toBe(1);
      expect(await count('events')).toBe(1);
      // A later retry of the finished step still answers 200 (not 409 INVALID_STATE)...
      const retry = await post(`/api/v1/runs/${run.id}/complete`, body, 'finish-1');
      expect(retry).toMatchObject({ status: 200, replayed: true });
      // ...while the same call without the key is refused as before.
      expect((await post(`/api/v1/runs/${run.id}/complete`, body)).status).toBe(409);
    });

    it('/cancel, POST /agents and POST /webhooks replay too', async () => {
      const run = (await ctx.api('POST', '/api/v1/runs', { agent_id: agentId })).body;
      const canceled = await post(`/api/v1/runs/${run.id}/cancel`, {}, 'cancel-1');
      expect(canceled.status).toBe(200);
      expect(await post(`/api/v1/runs/${run.id}/cancel`, {}, 'cancel-1')).toMatchObject({
        status: 200,
        replayed: true,
      });

      const agent = await post('/api/v1/agents', { name: 'Second' }, 'agent-1');
      expect(agent.status).toBe(201);
      const agentAgain = await post('/api/v1/agents', { name: 'Second' }, 'agent-1');
      expect(agentAgain).toMatchObject({ status: 201, replayed: true, raw: agent.raw });

      const hook = await post('/api/v1/webhooks', { url: 'https://example.com/h' }, 'hook-1');
      expect(hook.status).toBe(201);
      expect(await post('/api/v1/webhooks', { url: 'https://example.com/h' }, 'hook-1')).toMatchObject({
        status: 201,
        replayed: true,
        raw: hook.raw,
      });
      expect((await ctx.api('GET', '/api/v1/webhooks')).body.total).toBe(1);
    });

    it('the same key with another body, or on another route, is a 409 ALREADY_EXISTS that changes nothing', async () => {
      expect((await post('/api/v1/runs', finished(), 'k')).status).toBe(201);
      const other = await post('/api/v1/runs', { ...finished(), passed_count: 4 }, 'k');
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({ code: 'ALREADY_EXISTS', details: { field: 'Idempotency-Key' } });
      expect((await post('/api/v1/agents', { name: 'X' }, 'k')).status).toBe(409);
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
      expect((await ctx.api('GET', '/api/v1/agents')).body.total).toBe(1);
    });

    it('keys belong to one organization', async () => {
      const other = await ctx.newOrg();
      const otherAgent = (await ctx.api('POST', '/api/v1/agents', { name: 'Theirs' }, other.apiKey)).body.id;
      expect((await post('/api/v1/runs', finished(), 'shared')).status).toBe(201);
      const theirs = await post(
        '/api/v1/runs',
        { ...finished(), agent_id: otherAgent },
        'shared',
        other.apiKey,
      );
      expect(theirs).toMatchObject({ status: 201, replayed: false });
    });

    it('an error answer is not kept: after fixing the cause, the same key and body succeed', async () => {
      expect((await post('/api/v1/agents', { name: 'Taken' })).status).toBe(201);
      const conflict = await post('/api/v1/agents', { name: 'Taken' }, 'retry-me');
      expect(conflict.status).toBe(409);
      const taken = (await ctx.api('GET', '/api/v1/agents')).body.agents.find((a: any) => a.name === 'Taken');
      expect((await ctx.api('DELETE', `/api/v1/agents/${taken.id}`)).status).toBe(204);
      const retried = await post('/api/v1/agents', { name: 'Taken' }, 'retry-me');
      expect(retried).toMatchObject({ status: 201, replayed: false });

      // An invalid body never takes the key either.
      expect((await post('/api/v1/runs', { agent_id: agentId, test_mode: 'x' }, 'fix-body')).status).toBe(
        400,
      );
      expect((await post('/api/v1/runs', { agent_id: agentId, test_mode: 'demo' }, 'fix-body')).status).toBe(
        201,
      );
    });

    it('a key of 255 characters is taken; 256 or empty is a 400', async () => {
      expect((await post('/api/v1/runs', finished(), 'k'.repeat(255))).status).toBe(201);
      for (const key of ['k'.repeat(256), '']) {
        const res = await post('/api/v1/runs', finished(), key);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('INVALID_FIELD_VALUE');
      }
      expect((await ctx.api('GET', '/api/v1/runs')).body.total).toBe(1);
    });

    it('kept answers expire after 24 hours: pruned, and the key is free again', async () => {
      const store = ctx.rt.store;
      const t = Date.now();
      const input = { orgId: ctx.orgId, key: 'old', fingerprint: 'f1', now: t, lockMs: 60_000 };
      expect(await store.claimIdempotencyKey(input)).toEqual({ kind: 'claimed' });
      await store.completeIdempotencyKey({ orgId: ctx.orgId, key: 'old', statusCode: 201, body: '{"a":1}' });
      expect(await store.claimIdempotencyKey({ ...input, now: t + 1000 })).toEqual({
        kind: 'replay',
        statusCode: 201,
        body: '{"a":1}',
      });
      const later = t + 24 * 60 * 60 * 1000 + 1;
      expect(await store.claimIdempotencyKey({ ...input, fingerprint: 'f2', now: later })).toEqual({
        kind: 'claimed',
      });
      expect(await store.pruneIdempotencyKeys(later + 1)).toBe(1);
      expect(await count('idempotency_keys')).toBe(0);
    });

    it('the retention sweeper deletes answers older than 24 hours, whatever the retention', async () => {
      expect((await post('/api/v1/runs', finished(), 'swept')).status).toBe(201);
      const sweep = (offsetMs: number) =>
        createRetentionSweeper({
          store: ctx.rt.store,
          retentionMs: 30 * 24 * 60 * 60 * 1000,
          logger: ctx.rt.logger,
          now: () => Date.now() + offsetMs,
        }).sweepOnce();
      await sweep(60_000);
      expect(await count('idempotency_keys')).toBe(1);
      await sweep(24 * 60 * 60 * 1000 + 60_000);
      expect(await count('idempotency_keys')).toBe(0);
      expect((await post('/api/v1/runs', finished(), 'swept')).replayed).toBe(false);
    });

    it('a key held by a request that never answered is taken over once its lock runs out', async () => {
      const store = ctx.rt.store;
      const t = Date.now();
      const input = { orgId: ctx.orgId, key: 'crashed', fingerprint: 'f', now: t, lockMs: 1_000 };
      expect(await store.claimIdempotencyKey(input)).toEqual({ kind: 'claimed' });
      expect(await store.claimIdempotencyKey({ ...input, now: t + 500 })).toEqual({ kind: 'in_progress' });
      expect(await store.claimIdempotencyKey({ ...input, now: t + 1_001 })).toEqual({ kind: 'claimed' });
      expect(await store.claimIdempotencyKey({ ...input, now: t + 1_002 })).toEqual({ kind: 'in_progress' });
      await store.releaseIdempotencyKey(ctx.orgId, 'crashed');
      expect(await store.claimIdempotencyKey({ ...input, now: t + 1_003 })).toEqual({ kind: 'claimed' });
    });
  });
}
