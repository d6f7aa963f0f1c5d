import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

/** A second organization's key sees 404 on every route that takes an id, as if the object did not exist. */
for (const backend of backends) {
  describe(`tenant isolation [${backend.name}]`, () => {
    let ctx: TestContext;
    let other: string;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      ctx = await createTestContext(backend);
      other = (await ctx.newOrg('intruder')).apiKey;
      ids.agent = (await ctx.api('POST', '/api/v1/agents', { name: 'A' })).body.id;
      ids.webhook = (await ctx.api('POST', '/api/v1/webhooks', { url: 'https://example.com/h' })).body.id;
      ids.run = (await ctx.api('POST', '/api/v1/runs', { agent_id: ids.agent })).body.id;
      const finished = await ctx.api('POST', '/api/v1/runs', {
        agent_id: ids.agent,
        status: 'completed',
        passed_count: 1,
      });
      ids.finished = finished.body.id;
      ids.delivery = (await ctx.api('GET', '/api/v1/deliveries')).body.deliveries[0].id;
      ids.key = (await ctx.api('POST', '/api/v1/api-keys', { name: 'ci' })).body.id;
      ids.suite = (await ctx.api('POST', '/api/v1/test-suites', { name: 'S', scenario_ids: ['s'] })).body.id;
    });
    afterAll(async () => {
      await ctx.close();
    });

    type Ids = Record<string, string>;
    const routes: Array<[string, (i: Ids) => string, ((i: Ids) => unknown)?]> = [
      ['GET', (i) => `/api/v1/agents/${i.agent}`],
      ['PUT', (i) => `/api/v1/agents/${i.agent}`, () => ({ name: 'stolen' })],
      ['PATCH', (i) => `/api/v1/agents/${i.agent}`, () => ({ name: 'stolen' })],
      ['DELETE', (i) => `/api/v1/agents/${i.agent}`],
      ['POST', (i) => `/api/v1/agents/${i.agent}/validate`],
      ['PATCH', (i) => `/api/v1/runs/${i.run}`, () => ({ status: 'grading' })],
      ['GET', (i) => `/api/v1/test-suites/${i.suite}`],
      ['PUT', (i) => `/api/v1/test-suites/${i.suite}`, () => ({ name: 'stolen' })],
      ['PATCH', (i) => `/api/v1/test-suites/${i.suite}`, () => ({ name: 'stolen' })],
      ['DELETE', (i) => `/api/v1/test-suites/${i.suite}`],
      ['GET', (i) => `/api/v1/runs/${i.run}`],
      ['GET', () => '/api/v1/runs/TR-00001'],
      ['POST', (i) => `/api/v1/runs/${i.run}/complete`, () => ({ status: 'completed' })],
      ['POST', (i) => `/api/v1/runs/${i.run}/cancel`],
      ['POST', () => '/api/v1/runs', (i) => ({ agent_id: i.agent })],
      ['GET', (i) => `/api/v1/webhooks/${i.webhook}`],
      ['PUT', (i) => `/api/v1/webhooks/${i.webhook}`, () => ({ is_enabled: false })],
      ['PATCH', (i) => `/api/v1/webhooks/${i.webhook}`, () => ({ is_enabled: false })],
      ['POST', (i) => `/api/v1/webhooks/${i.webhook}/test`],
      ['GET', (i) => `/api/v1/webhooks/${i.webhook}/deliveries`],
      ['DELETE', (i) => `/api/v1/webhooks/${i.webhook}`],
      ['POST', () => '/api/v1/webhooks', (i) => ({ url: 'https://example.com/x', agent_id: i.agent })],
      ['GET', (i) => `/api/v1/deliveries/${i.delivery}`],
      ['POST', (i) => `/api/v1/deliveries/${i.delivery}/redeliver`],
      ['DELETE', (i) => `/api/v1/api-keys/${i.key}`],
    ];

    it.each(
      routes.map(([m, p, b]) => [
        `${m} ${p({ agent: ':agent', run: ':run', webhook: ':webhook', delivery: ':delivery', key: ':key', suite: ':suite' })}`,
        m,
        p,
        b,
      ]),
    )('%s → 404', async (_label, method, path, body) => {
      const res = await ctx.api(
        method as string,
        (path as (i: Ids) => string)(ids),
        (body as ((i: Ids) => unknown) | undefined)?.(ids),
        other,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect(res.body.code).toMatch(/NOT_FOUND$/);
    });

    it("lists show only the caller's objects, and the owner's objects are untouched", async () => {
      for (const [path, key] of [
        ['/api/v1/agents', 'agents'],
        ['/api/v1/runs', 'runs'],
        ['/api/v1/webhooks', 'webhooks'],
        ['/api/v1/deliveries', 'deliveries'],
        ['/api/v1/test-suites', 'test_suites'],
      ] as const) {
        const res = await ctx.api('GET', path, undefined, other);
        expect(res.body[key]).toEqual([]);
        expect(res.body.total).toBe(0);
      }
      expect((await ctx.api('GET', '/api/v1/api-keys', undefined, other)).body.total).toBe(1);
      const agent = await ctx.api('GET', `/api/v1/agents/${ids.agent}`);
      expect(agent.body.name).toBe('A');
      const webhook = await ctx.api('GET', `/api/v1/webhooks/${ids.webhook}`);
      expect(webhook.body.is_enabled).toBe(true);
      expect((await ctx.api('GET', `/api/v1/runs/${ids.run}`)).body.status).toBe('running');
      expect((await ctx.api('GET', `/api/v1/test-suites/${ids.suite}`)).body.name).toBe('S');
      expect((await ctx.api('GET', '/api/v1/api-keys')).body.total).toBe(2);
    });

    it('the other org numbers its own runs from TR-00001', async () => {
      const mine = await ctx.api('POST', '/api/v1/agents', { name: 'mine' }, other);
      const run = await ctx.api('POST', '/api/v1/runs', { agent_id: mine.body.id }, other);
      expect(run.body.test_run_id).toBe('TR-00001');
    });

    it('a revoked key stops working at once', async () => {
      const created = await ctx.api('POST', '/api/v1/api-keys', { name: 'temp' });
      expect(created.body.key).toMatch(/^sk_live_[A-Za-z0-9]{40}$/);
      expect((await ctx.api('GET', '/api/v1/agents', undefined, created.body.key)).status).toBe(200);
      expect((await ctx.api('DELETE', `/api/v1/api-keys/${created.body.id}`)).status).toBe(204);
      expect((await ctx.api('GET', '/api/v1/agents', undefined, created.body.key)).status).toBe(401);
      const list = await ctx.api('GET', '/api/v1/api-keys');
      expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    });
  });
}
