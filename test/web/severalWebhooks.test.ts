/**
 * Several webhooks per scope on the dashboard (headless Chromium, built server): add a second
 * organization webhook subscribed to other event types, see it listed, remove it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard, signIn, waitFor } from './harness.js';

interface Webhook {
  id: string;
  url: string;
  agent_id: string | null;
  events: string[];
}

describe.skipIf(!chromiumFound)('several webhooks per scope in Chromium', () => {
  let h: Dashboard;
  let page: Page;

  beforeAll(async () => {
    h = await openDashboard();
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  const orgHooks = async () =>
    (await h.rest.get<{ webhooks: Webhook[] }>('/webhooks')).webhooks.filter((w) => w.agent_id === null);

  it('adds a second organization webhook with its event types, lists it and removes it', async () => {
    const first = await h.rest.post<Webhook>('/webhooks', { url: h.receiver.url('/first') });
    await signIn(page, h.server.apiKey, '/settings/webhooks');

    // The first webhook's form shows its subscription.
    const main = page.getByRole('form', { name: 'Organization webhook' });
    expect(await main.getByLabel(/^test_run_completed/).isChecked()).toBe(true);
    expect(await main.getByLabel(/^test_run_started/).isChecked()).toBe(false);

    await page.getByTestId('add-webhook').click();
    const added = page.getByRole('form', { name: 'New webhook' });
    await added.getByLabel('Endpoint URL').fill(h.receiver.url('/second'));
    await added.getByLabel(/^test_run_completed/).uncheck();
    await added.getByLabel(/^test_run_started/).check();
    await added.getByLabel(/^test_status_changed/).check();
    // TestCLIX cannot carry these: the boxes are disabled for it.
    await added.getByLabel('Payload format').selectOption('clix');
    expect(await added.getByLabel(/^test_run_started/).isDisabled()).toBe(true);
    await added.getByLabel('Payload format').selectOption('standard');
    await added.getByRole('button', { name: 'Save' }).click();

    const listed = page.getByTestId('scope-webhooks');
    await listed.getByText(h.receiver.url('/second')).waitFor();
    expect(await listed.textContent()).toContain('test_run_started, test_status_changed');
    const hooks = await orgHooks();
    expect(hooks.map((w) => w.url).sort()).toEqual(
      [h.receiver.url('/first'), h.receiver.url('/second')].sort(),
    );
    expect(hooks.find((w) => w.url.endsWith('/second'))?.events).toEqual([
      'test_run_started',
      'test_status_changed',
    ]);

    // Remove it from the list; the first one stays.
    const row = listed.locator('tr', { hasText: h.receiver.url('/second') });
    await row.getByRole('button', { name: `Remove webhook ${h.receiver.url('/second')}` }).click();
    await row.getByRole('button', { name: 'Delete webhook' }).click();
    await waitFor('the second webhook to be deleted', async () => (await orgHooks()).length === 1);
    await listed.waitFor({ state: 'detached' });
    expect((await orgHooks()).map((w) => w.id)).toEqual([first.id]);
  });
});
