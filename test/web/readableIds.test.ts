/**
 * Telling things apart in the dashboard (real headless Chromium, real server and receiver):
 * deliveries made in the same second show different ids, runs are named by their TR- id, times
 * say their zone, Test Webhook sends are labelled as such and left out of the Overview's
 * failed-deliveries count, and the tables fit a 1024 px window without scrolling sideways.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard, waitFor } from './harness.js';

interface Delivery {
  id: string;
  kind: string;
  status: string;
  test_run_id: string | null;
}

describe.skipIf(!chromiumFound)('readable ids, zones and narrow windows (headless Chromium)', () => {
  let h: Dashboard;
  let page: Page;
  let agentId: string;
  const runs: Array<{ id: string; test_run_id: string }> = [];

  beforeAll(async () => {
    // A 1024 px window in a zone that is not UTC, to see the zone named.
    h = await openDashboard({
      context: { viewport: { width: 1024, height: 768 }, timezoneId: 'Asia/Tokyo', locale: 'en-US' },
      signInAt: '/deliveries',
    });
    page = h.page;

    h.receiver.setMode('fail');
    const webhook = await h.rest.post<{ id: string }>('/webhooks', { url: h.receiver.url('/org') });
    agentId = (await h.rest.post<{ id: string }>('/agents', { name: 'Look-alike Bot' })).id;
    for (let i = 0; i < 4; i++) {
      runs.push(
        await h.rest.post('/runs', {
          agent_id: agentId,
          name: 'Nightly',
          status: 'failed',
          results: [
            {
              name: 'a rather long test name that has to wrap somewhere in a narrow window',
              status: 'failed',
              message: 'x'.repeat(300),
            },
            { name: `b${i}`, suite: 'some.rather.long.suite.name.that.goes.on', status: 'passed' },
          ],
        }),
      );
    }
    await h.rest.request('POST', `/webhooks/${webhook.id}/test`);
    await waitFor(
      'every delivery to fail',
      async () => {
        const list = await h.rest.get<{ deliveries: Delivery[] }>('/deliveries?limit=100');
        return list.deliveries.length === 5 && list.deliveries.every((d) => d.status === 'failed');
      },
      30_000,
    );
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  /** Nothing wider than the window: neither the page nor any table scrolls sideways. */
  async function expectNoSidewaysScroll(what: string) {
    const wide = await page.evaluate<string[]>(`(() => {
      const out = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > doc.clientWidth) out.push('page ' + doc.scrollWidth + ' > ' + doc.clientWidth);
      for (const el of document.querySelectorAll('.table-wrap')) {
        if (el.scrollWidth > el.clientWidth + 1)
          out.push((el.querySelector('caption')?.textContent ?? 'table') + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
      }
      return out;
    })()`);
    expect(wide, what).toEqual([]);
  }

  it('shows ids that differ, runs by TR- id, and labels Test Webhook sends', async () => {
    await page.goto('/deliveries');
    const rows = page.getByTestId('delivery-row');
    await expect.poll(() => rows.count()).toBe(5);
    const shown = await rows.evaluateAll((els) => els.map((e) => e.querySelector('td a')?.textContent ?? ''));
    // Made within a second, UUIDv7 ids share their first characters; what is shown must not.
    expect(new Set(shown).size).toBe(5);
    const all = await h.rest.get<{ deliveries: Delivery[] }>('/deliveries?limit=100');
    for (const d of all.deliveries) expect(shown).toContain(`…${d.id.slice(-8)}`);

    await expect
      .poll(() => page.getByTestId('delivery-run').allTextContents())
      .toEqual(expect.arrayContaining(runs.map((r) => r.test_run_id)));
    expect((await page.getByTestId('delivery-run').allTextContents()).every((t) => /^TR-\d+$/.test(t))).toBe(
      true,
    );
    const test = page.locator('[data-testid="delivery-row"][data-kind="test"]');
    expect(await test.getByTestId('delivery-kind').textContent()).toBe('Test Webhook');
    expect(
      await page
        .locator('[data-testid="delivery-row"][data-kind="event"]')
        .first()
        .getByTestId('delivery-kind')
        .textContent(),
    ).toBe('run event');
    await expectNoSidewaysScroll('deliveries');

    // A delivery's page names its run by TR- id and says what kind of send it was.
    const event = all.deliveries.find((d) => d.kind === 'event')!;
    const run = runs.find((r) => r.id === event.test_run_id)!;
    await page.goto(`/deliveries/${event.id}`);
    await expect.poll(() => page.getByTestId('delivery-run').textContent()).toBe(run.test_run_id);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(`…${event.id.slice(-8)}`);
    const sample = all.deliveries.find((d) => d.kind === 'test')!;
    await page.goto(`/deliveries/${sample.id}`);
    await expect.poll(() => page.getByTestId('delivery-kind').textContent()).toBe('Test Webhook');
  });

  it('labels times with their zone', async () => {
    await page.goto(`/runs/${runs[0]!.id}`);
    const started = page.getByTestId('run-facts').locator('time').first();
    await started.waitFor();
    // Tokyo is UTC+9 all year; Chromium names it GMT+9 in en-US.
    expect(await started.textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+9$/);
    const iso = (await started.getAttribute('datetime'))!;
    const local = new Date(new Date(iso).getTime() + 9 * 3600_000)
      .toISOString()
      .slice(0, 19)
      .replace('T', ' ');
    expect(await started.textContent()).toBe(`${local} GMT+9`);
  });

  it('leaves Test Webhook sends out of the Overview’s failed deliveries', async () => {
    await page.goto('/');
    const tile = page.getByRole('link', { name: /Failed deliveries/ });
    await expect.poll(() => tile.locator('.tile-value').textContent()).toBe('4');
    expect(await tile.getAttribute('href')).toBe('/deliveries?status=failed&kind=event');
    const listed = page.locator('#overview-failed').getByTestId('delivery-row');
    await expect.poll(() => listed.count()).toBe(4);
    expect(await page.locator('#overview-failed [data-kind="test"]').count()).toBe(0);
    await expectNoSidewaysScroll('overview');
  });

  it('fits a 1024 px window on the pages with tables', async () => {
    for (const [what, path, ready] of [
      ['runs', '/runs', 'runs-table'],
      ['run', `/runs/${runs[3]!.id}`, 'scenarios'],
      ['agent tests', `/agents/${agentId}?tab=tests`, 'tests-table'],
      ['agent', `/agents/${agentId}`, 'runs-table'],
      ['deliveries', '/deliveries', 'deliveries-table'],
      ['one run’s deliveries', `/runs/${runs[0]!.id}`, 'deliveries-table'],
    ] as const) {
      await page.goto(path);
      await page.getByTestId(ready).waitFor();
      await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
      await expectNoSidewaysScroll(what);
    }
    await page.goto(`/agents/${agentId}?tab=tests`);
    await page.getByTestId('test-link').first().click();
    await page.getByTestId('history-table').waitFor();
    await expectNoSidewaysScroll('test history');
  });
});
