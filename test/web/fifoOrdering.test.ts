/**
 * A webhook's delivery order on the dashboard (docs/delivery.md#ordered-delivery): the form sets
 * `ordering`, and the webhook's status line says how many deliveries wait behind a failing one
 * (headless Chromium, built server, a real receiver told to fail; retries an hour apart, so the
 * failing head stays the head).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard, signIn, waitFor } from './harness.js';

describe.skipIf(!chromiumFound)('webhook delivery order in Chromium', () => {
  let h: Dashboard;
  let page: Page;

  beforeAll(async () => {
    h = await openDashboard({ env: { RUNHOOK_RETRY_SCHEDULE: '1h' } });
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('saves ordering fifo from the form and shows what waits behind a failing delivery', async () => {
    const { rest, receiver } = h;
    await signIn(page, h.server.apiKey, '/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    await form.getByLabel('Endpoint URL').fill(receiver.url('/org'));
    await form.getByLabel('Delivery order').selectOption('fifo');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('save-status').waitFor();
    const list = await rest.get<{ webhooks: Array<{ id: string; ordering: string }> }>('/webhooks');
    expect(list.webhooks.map((w) => w.ordering)).toEqual(['fifo']);
    const hookId = list.webhooks[0]!.id;

    // The first delivery fails and waits an hour for its retry; the next two wait behind it.
    receiver.setMode('fail');
    const agent = await rest.post<{ id: string }>('/agents', { name: 'Ordered agent' });
    for (let i = 0; i < 3; i++) {
      await rest.post('/runs', {
        agent_id: agent.id,
        name: `ordered ${i}`,
        status: 'failed',
        passed_count: 1,
        failed_count: 1,
      });
    }
    await waitFor('the head to fail once with two behind it', async () => {
      const w = await rest.get<{ consecutive_failures: number; waiting_count: number }>(
        `/webhooks/${hookId}`,
      );
      return w.consecutive_failures === 1 && w.waiting_count === 2;
    });
    expect(receiver.requests).toHaveLength(1);
    await page.reload();
    const line = page.getByTestId('webhook-waiting-line');
    await line.waitFor();
    expect(await line.textContent()).toBe(
      '2 deliveries waiting behind a failing delivery (until its retries end)',
    );
    expect(await form.getByLabel('Delivery order').inputValue()).toBe('fifo');
  });
});
