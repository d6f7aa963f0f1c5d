/**
 * An attempt's request body is stored once, in its delivery (docs/architecture.md#attempt-rows):
 * attempt rows keep the URL and headers, and the API fills the body back in, so a delivery's detail
 * reads byte for byte as when every attempt row carried its own copy. Rows written that way (by
 * older versions) still read as they are. Both backends, real worker, loopback receiver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql, type RawSql } from '../helpers/rawSql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook, deliveryOfRun, finishedRun, settled } from './support.js';

const sqlText = (s: string) => `'${s.replaceAll("'", "''")}'`;

for (const backend of backends) {
  describe(`attempt rows keep no copy of the body [${backend.name}]`, () => {
    let ctx: TestContext;
    let receiver: Receiver;
    let raw: RawSql;
    afterEach(async () => {
      await raw?.close();
      await receiver?.close();
      await ctx?.close();
    });

    /** GET /api/v1/deliveries/{id} as the exact text the API answers. */
    async function detailText(id: string): Promise<string> {
      const res = await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/deliveries/${id}`,
        headers: { authorization: `Bearer ${ctx.apiKey}` },
      });
      expect(res.statusCode).toBe(200);
      return res.body;
    }

    it('the API shows each attempt with the body sent, the same text as from rows with the body inline', async () => {
      [ctx, receiver] = await Promise.all([createTestContext(backend, { worker: true }), startReceiver()]);
      // Two failed attempts, then a success: three attempt rows, one body.
      receiver.behaviour = { kind: 'status', status: 500 };
      await createWebhook(ctx, {
        url: receiver.url,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers: { 'X-Team': 'qa' },
      });
      const agentId = await createAgent(ctx);
      const run = await finishedRun(ctx, agentId);
      const delivery = await deliveryOfRun(ctx, run.id);
      await receiver.waitFor(2, 10_000);
      receiver.behaviour = { kind: 'status', status: 200, body: '{"ok":true}' };
      const detail = await settled(ctx, delivery.id, 15_000);
      const n = detail.attempts.length;
      expect(detail.status).toBe('succeeded');
      expect(n).toBeGreaterThanOrEqual(3);

      // What the API shows is what went over the wire, attempt by attempt.
      expect(receiver.requests.length).toBe(n);
      detail.attempts.forEach((a, i) => {
        const sent = receiver.requests[i];
        expect(a.request.body).toBe(sent?.body);
        expect(a.request.headers['webhook-signature']).toBe(sent?.headers['webhook-signature']);
        expect(a.request.headers['X-Team']).toBe('qa');
        expect(a.request.url).toBe(receiver.url);
      });

      // Stored once: the attempt rows hold no body.
      raw = await openRawSql(ctx.db.url);
      const q = (where: string) =>
        raw.count(`SELECT count(*) FROM attempts WHERE delivery_id = '${delivery.id}' ${where}`);
      expect(await q('')).toBe(n);
      expect(await q(`AND request LIKE '%"body"%'`)).toBe(0);
      const body = receiver.requests[0]?.body as string;
      expect(body.length).toBeGreaterThan(200);

      // Rewritten as older versions stored them (the body in every row): the API text is identical.
      const before = await detailText(delivery.id);
      for (const a of JSON.parse(before).attempts as Array<{ id: string; request: unknown }>) {
        await raw.exec(
          `UPDATE attempts SET request = ${sqlText(JSON.stringify(a.request))} WHERE id = '${a.id}'`,
        );
      }
      expect(await q(`AND request LIKE '%"body"%'`)).toBe(n);
      expect(await detailText(delivery.id)).toBe(before);

      // An old row's own body is what it shows, even where it differs from the delivery's.
      const first = JSON.parse(before).attempts[0] as { id: string; request: Record<string, unknown> };
      const other = { ...first.request, body: '{"older":"copy"}' };
      await raw.exec(
        `UPDATE attempts SET request = ${sqlText(JSON.stringify(other))} WHERE id = '${first.id}'`,
      );
      const after = JSON.parse(await detailText(delivery.id));
      expect(after.attempts[0].request).toEqual(other);
      expect(after.attempts[1].request.body).toBe(body);
    });
  });
}
