/**
 * A run whose delivery history retention deleted says so on its page (docs/operations.md#retention):
 * real server with RUNHOOK_RETENTION=2s, real receiver, headless Chromium.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumFound,
  launchBrowser,
  newLaptopContext,
  type Receiver,
  type RunningServer,
  restClient,
  startReceiver,
  startServer,
  waitFor,
} from './harness.js';

describe.skipIf(!chromiumFound)('expired delivery history in the dashboard (headless Chromium)', () => {
  let server: RunningServer;
  let receiver: Receiver;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startServer({ RUNHOOK_RETENTION: '2s' });
    browser = await launchBrowser();
    context = await newLaptopContext(browser, server.baseUrl);
    context.setDefaultTimeout(20_000);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    await receiver?.close();
  }, 30_000);

  it('the run page says the delivery history expired, and when', async () => {
    const rest = restClient(server.baseUrl, server.apiKey);
    await rest.post('/webhooks', { url: receiver.url('/hook') });
    const agent = await rest.post<{ id: string }>('/agents', { name: 'Retention Bot' });
    const run = await rest.post<{ id: string }>('/runs', {
      agent_id: agent.id,
      status: 'completed',
      passed_count: 1,
    });
    await waitFor('the delivery', () => receiver.requests.length === 1);
    await waitFor(
      'retention to expire the run’s deliveries',
      async () =>
        (await rest.get<{ deliveries_expired_at: string | null }>(`/runs/${run.id}`)).deliveries_expired_at ??
        false,
      20_000,
    );

    expect((await rest.get<{ total: number }>(`/deliveries?test_run_id=${run.id}`)).total).toBe(0);
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('API key').fill(server.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname !== '/login');
    await page.goto(`/runs/${run.id}`);
    const note = page.getByTestId('deliveries-expired');
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    expect(text).toContain('delivery history has expired');
    expect(text).toContain('RUNHOOK_RETENTION');
    expect(text).not.toContain('no enabled webhook');
  }, 60_000);
});
