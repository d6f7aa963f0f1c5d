/**
 * What changed, as receivers get it (docs/api.md#what-changed): the standard body carries
 * `changes` between `test_run` and `results_url`; chat formats open with the change and list new
 * failures first; `filter.only_changes` sends only runs that changed something. Real receivers,
 * both backends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { createAgent, createWebhook } from './support.js';

const result = (name: string, status: string) => ({
  name,
  suite: 'checkout',
  status,
  ...(status === 'failed' && { message: `${name}: expected 200, got 500` }),
});

for (const backend of backends) {
  describe(`changes in deliveries [${backend.name}]`, () => {
    let ctx: TestContext | undefined;
    const receivers: Receiver[] = [];
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await Promise.all(receivers.splice(0).map((r) => r.close()));
    });

    async function run(c: TestContext, agentId: string, results: Array<[string, string]>) {
      const failed = results.some(([, s]) => s === 'failed');
      const res = await c.api('POST', '/api/v1/runs', {
        agent_id: agentId,
        name: 'CI',
        status: failed ? 'failed' : 'completed',
        results: results.map(([n, s]) => result(n, s)),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    }

    it('standard carries changes in place; slack opens with the change and lists new failures first', async () => {
      ctx = await createTestContext(backend, { worker: true });
      const [standard, slack] = await Promise.all([startReceiver(), startReceiver()]);
      receivers.push(standard, slack);
      const agentId = await createAgent(ctx);
      await createWebhook(ctx, { url: standard.url });
      await createWebhook(ctx, { url: slack.url, agent_id: agentId, format: 'slack' });
      // The agent's own webhook takes its runs; the org's standard one gets none of them.
      const other = await createAgent(ctx, 'Other agent');
      await run(ctx, other, [
        ['pay', 'failed'],
        ['cart', 'passed'],
      ]);
      const second = await run(ctx, other, [
        ['pay', 'failed'],
        ['cart', 'failed'],
        ['login', 'passed'],
      ]);
      await run(ctx, agentId, [
        ['pay', 'failed'],
        ['cart', 'passed'],
      ]);
      await run(ctx, agentId, [
        ['pay', 'failed'],
        ['cart', 'failed'],
      ]);
      await eventually(async () => standard.requests.length >= 2 && slack.requests.length >= 2, 10_000);

      const last = standard.requests.map((r) => r.body).find((b) => b.includes(second.id)) ?? '';
      expect(Object.keys(JSON.parse(last))).toEqual([
        'event',
        'timestamp',
        'test_run',
        'changes',
        'results_url',
      ]);
      expect(JSON.parse(last).changes).toMatchObject({
        basis: 'results',
        new_failures: [{ name: 'cart', suite: 'checkout', message: 'cart: expected 200, got 500' }],
        counts: { new_failures: 1, still_failing: 1, new_tests: 1 },
      });
      const firstBody = JSON.parse(standard.requests[0]?.body ?? '{}');
      expect(firstBody.changes).toBeNull();

      const msg = JSON.parse(slack.requests[1]?.body ?? '{}');
      expect(msg.text).toMatch(/^1 new failure · 1 still failing · pass rate 0 % \(−50\)/);
      const section: string = msg.blocks[0].text.text;
      expect(section.indexOf('cart')).toBeLessThan(section.indexOf('pay'));
      expect(section).toContain('cart _(new)_');
    });

    it('discord and teams open with the change, list new failures first and mark flaky tests', async () => {
      ctx = await createTestContext(backend, { worker: true });
      const [discord, teams] = await Promise.all([startReceiver(), startReceiver()]);
      receivers.push(discord, teams);
      const agentId = await createAgent(ctx);
      await createWebhook(ctx, { url: discord.url, agent_id: agentId, format: 'discord' });
      await createWebhook(ctx, { url: teams.url, agent_id: agentId, format: 'teams' });
      // 'flip' passes, fails, passes, then fails: three flips, a flaky test failing now.
      for (const flip of ['passed', 'failed', 'passed']) {
        await run(ctx, agentId, [
          ['pay', 'failed'],
          ['cart', 'passed'],
          ['flip', flip],
        ]);
      }
      await run(ctx, agentId, [
        ['pay', 'failed'],
        ['cart', 'failed'],
        ['flip', 'failed'],
      ]);
      await eventually(async () => discord.requests.length >= 4 && teams.requests.length >= 4, 10_000);
      const change = '1 new failure · 1 flaky · 1 still failing · pass rate 0 % (−66.67)';
      const last = (r: Receiver) =>
        JSON.parse(r.requests.map((q) => q.body).find((b) => b.includes('TR-00004')) ?? '{}');

      const d = last(discord);
      expect(d.content.startsWith(change)).toBe(true);
      const description: string[] = d.embeds[0].description.split('\n');
      expect(description[0]).toContain(change);
      const listed = description.slice(description.indexOf('Failing tests:') + 1);
      expect(listed[0]).toMatch(/^• \*\*cart\*\* \(new\)/);
      expect(listed.find((l) => l.includes('flip'))).toMatch(/\(flaky\)/);

      const card = last(teams).attachments[0].content;
      expect(card.fallbackText.startsWith(change)).toBe(true);
      const texts: string[] = card.body
        .filter((b: { type: string }) => b.type === 'TextBlock')
        .map((b: { text: string }) => b.text);
      expect(texts[0]).toBe(change);
      const failing = texts.slice(texts.indexOf('Failing tests') + 1);
      expect(failing[0]).toMatch(/^cart \(new\)/);
      expect(failing.find((l) => l.includes('flip'))).toMatch(/\(flaky\)/);
    });

    it('only_changes: a run with the same outcome as its baseline gets no delivery', async () => {
      ctx = await createTestContext(backend, { worker: false });
      const agentId = await createAgent(ctx);
      const receiver = await startReceiver();
      receivers.push(receiver);
      await createWebhook(ctx, { url: receiver.url, filter: { only_changes: true } });
      const count = async (runId: string) =>
        (await ctx?.api('GET', `/api/v1/deliveries?test_run_id=${runId}`))?.body.total;
      const a = await run(ctx, agentId, [['pay', 'failed']]);
      expect(await count(a.id)).toBe(1); // no baseline: sent
      const b = await run(ctx, agentId, [['pay', 'failed']]);
      expect(await count(b.id)).toBe(0); // nothing changed
      const c = await run(ctx, agentId, [['pay', 'passed']]);
      expect(await count(c.id)).toBe(1); // fixed, status changed
      const d = await run(ctx, agentId, [
        ['pay', 'passed'],
        ['new', 'passed'],
      ]);
      expect(await count(d.id)).toBe(0); // a new passing test is not a change worth a message
      const hooks = await ctx.api('GET', '/api/v1/webhooks');
      expect(hooks.body.webhooks[0].filter).toEqual({ only_changes: true });
    });
  });
}
