/**
 * Finding deliveries by what a user has at hand: the run's UUID or TR- id from CI, or the event id
 * (the `webhook-id` header) from a receiver's log; see docs/api.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

for (const backend of backends) {
  describe(`delivery search [${backend.name}]`, () => {
    let ctx: TestContext;
    const runs: Array<{ id: string; test_run_id: string }> = [];
    beforeAll(async () => {
      ctx = await createTestContext(backend);
      const agent = (await ctx.api('POST', '/api/v1/agents', { name: 'A' })).body.id;
      expect((await ctx.api('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook' })).status).toBe(
        201,
      );
      for (let i = 0; i < 3; i++) {
        const run = await ctx.api('POST', '/api/v1/runs', {
          agent_id: agent,
          status: 'completed',
          passed_count: 1,
        });
        expect(run.status).toBe(201);
        runs.push(run.body);
      }
    });
    afterAll(async () => {
      await ctx.close();
    });

    const list = async (query: string) => {
      const res = await ctx.api('GET', `/api/v1/deliveries?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as {
        deliveries: Array<{ id: string; event_id: string; test_run_id: string }>;
        total: number;
      };
    };

    it('by the run UUID, in either case', async () => {
      const second = runs[1]!;
      const found = await list(`test_run_id=${second.id}`);
      expect(found.total).toBe(1);
      expect(found.deliveries[0]?.test_run_id).toBe(second.id);
      expect((await list(`test_run_id=${second.id.toUpperCase()}`)).deliveries[0]?.id).toBe(
        found.deliveries[0]?.id,
      );
    });

    it('by the TR- id', async () => {
      const third = runs[2]!;
      expect(third.test_run_id).toBe('TR-00003');
      const found = await list('test_run_id=TR-00003');
      expect(found.total).toBe(1);
      expect(found.deliveries[0]?.test_run_id).toBe(third.id);
      // A number no run has, or another spelling of one, matches nothing (not an error).
      expect((await list('test_run_id=TR-00099')).total).toBe(0);
      expect((await list('test_run_id=TR-000003')).total).toBe(0);
    });

    it('by the event id (the webhook-id header), alone or with other filters', async () => {
      const all = await list('limit=100');
      expect(all.total).toBe(3);
      const target = all.deliveries[1]!;
      const found = await list(`event_id=${target.event_id}`);
      expect(found.deliveries.map((d) => d.id)).toEqual([target.id]);
      expect((await list(`event_id=${target.event_id}&status=pending`)).total).toBe(1);
      expect((await list(`event_id=${target.event_id}&status=succeeded`)).total).toBe(0);
      expect((await list(`event_id=${target.event_id}&test_run_id=${target.test_run_id}`)).total).toBe(1);
      expect(
        (
          await list(
            `event_id=${target.event_id}&test_run_id=${runs[0]!.id === target.test_run_id ? runs[1]!.id : runs[0]!.id}`,
          )
        ).total,
      ).toBe(0);
    });

    it("another organization's run or event is not found", async () => {
      const other = await ctx.newOrg();
      for (const query of [`test_run_id=${runs[0]!.id}`, 'test_run_id=TR-00001']) {
        const res = await ctx.api('GET', `/api/v1/deliveries?${query}`, undefined, other.apiKey);
        expect(res.status).toBe(200);
        expect(res.body.total).toBe(0);
      }
    });

    it('a value that is no id at all is a 400 naming the parameter', async () => {
      for (const [query, field] of [
        ['test_run_id=TR-12', 'test_run_id'],
        ['test_run_id=run-1', 'test_run_id'],
        ['event_id=evt_1', 'event_id'],
      ] as const) {
        const res = await ctx.api('GET', `/api/v1/deliveries?${query}`);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field } });
      }
    });
  });
}
