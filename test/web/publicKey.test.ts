/** An ed25519 webhook's public key on the webhook form (headless Chromium, built server). */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Harness, newLaptopContext, startHarness } from './harness.js';

describe.skipIf(!chromiumFound)('webhook public key in Chromium', () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    h = await startHarness();
    context = await newLaptopContext(h.browser, h.server.baseUrl);
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await h?.close();
  }, 30_000);

  it('shows the public key of an ed25519 webhook, read-only, and none for an hmac one', async () => {
    await page.goto('/settings/webhooks');
    await page.waitForURL(/\/login/);
    await page.getByLabel('API key').fill(h.server.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/settings/webhooks');
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
