/** An ed25519 webhook's public key on the webhook form (headless Chromium, built server). */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard, signIn } from './harness.js';

describe.skipIf(!chromiumFound)('webhook public key in Chromium', () => {
  let h: Dashboard;
  let page: Page;

  beforeAll(async () => {
    h = await openDashboard();
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('shows the public key of an ed25519 webhook, read-only, and none for an hmac one', async () => {
    await signIn(page, h.server.apiKey, '/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    await form.getByLabel('Endpoint URL').waitFor();
    expect(await form.getByTestId('webhook-public-key').count()).toBe(0);

    const hook = await h.rest.post<{ public_key: string }>('/webhooks', {
      url: h.receiver.url('/org'),
      signature_scheme: 'ed25519',
    });
    await page.reload();
    const field = form.getByLabel('Public key (ed25519)');
    await field.waitFor();
    expect(await field.inputValue()).toBe(hook.public_key);
    expect(await field.getAttribute('readonly')).not.toBeNull();
  });
});
