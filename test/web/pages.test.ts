/**
 * Every dashboard page, and the API reference at /docs, opened in real headless Chromium against
 * a real server: each renders under the server's Content-Security-Policy with no violation and no
 * console error.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumFound,
  launchBrowser,
  newLaptopContext,
  type Receiver,
  type RestClient,
  type RunningServer,
  restClient,
  startReceiver,
  startServer,
  waitFor,
} from './harness.js';

interface Problems {
  violations: string[];
  consoleErrors: string[];
}

/** Runs in each page before its own scripts: records every CSP violation the browser reports. */
const RECORD_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
  });
`;

describe.skipIf(!chromiumFound)('every page in Chromium, under the Content-Security-Policy', () => {
  let server: RunningServer;
  let ok: Receiver;
  let failing: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let rest: RestClient;
  const consoleErrors: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ok = await startReceiver();
    failing = await startReceiver();
    failing.setMode('fail');
    // Retries an hour apart: a failed first attempt leaves its delivery pending for the test.
    server = await startServer({ RUNHOOK_RETRY_SCHEDULE: '1h' });
    rest = restClient(server.baseUrl, server.apiKey);
    browser = await launchBrowser();
    context = await newLaptopContext(browser, server.baseUrl);
    context.setDefaultTimeout(20_000);
    await context.addInitScript(RECORD_VIOLATIONS);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));

    // Something on every page: an organization webhook that works, an agent whose webhook fails
    // (its delivery waits for a retry), finished and running test runs.
    await rest.post('/webhooks', { url: ok.url('/org'), secret: 'org-secret-for-tests' });
    const good = await rest.post<{ id: string }>('/agents', { name: 'Checkout Bot', provider: 'openai' });
    const flaky = await rest.post<{ id: string }>('/agents', { name: 'Flaky Bot' });
    await rest.post('/webhooks', { url: failing.url('/flaky'), agent_id: flaky.id });
    ids.agent = good.id;
    ids.run = (
      await rest.post<{ id: string }>('/runs', {
        agent_id: good.id,
        name: 'Nightly',
        status: 'completed',
        passed_count: 9,
        failed_count: 1,
        error_count: 0,
      })
    ).id;
    await rest.post('/runs', { agent_id: flaky.id, name: 'Smoke', status: 'failed', failed_count: 2 });
    await rest.post('/runs', { agent_id: good.id, name: 'Still running', total_scenarios: 4 });
    const delivered = await waitFor('both deliveries to be tried', async () => {
      const list = await rest.get<{ deliveries: Array<{ id: string; status: string }> }>('/deliveries');
      const done = list.deliveries.find((d) => d.status === 'succeeded');
      const pending = list.deliveries.find((d) => d.status === 'pending' && failing.requests.length > 0);
      return done && pending ? { done, pending } : undefined;
    });
    ids.delivery = delivered.done.id;
    ids.pendingDelivery = delivered.pending.id;
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await ok?.close();
    await failing?.close();
  }, 30_000);

  async function problemsOn(): Promise<Problems> {
    const violations = await page.evaluate<string[]>('window.__cspViolations ?? []');
    return { violations, consoleErrors: consoleErrors.splice(0) };
  }

  it('the sign-in page', async () => {
    await page.goto('/login');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await problemsOn()).toEqual({ violations: [], consoleErrors: [] });
    await page.getByLabel('API key').fill(server.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
  });

  const PAGES: Array<[string, (ids: Record<string, string>) => string, RegExp]> = [
    ['overview', () => '/', /Overview/],
    ['webhook settings', () => '/settings/webhooks', /Webhooks/],
    ['agents', () => '/agents', /Agents/],
    ['one agent', (i) => `/agents/${i.agent}`, /Checkout Bot/],
    ['test runs', () => '/runs', /Test runs/],
    ['one test run', (i) => `/runs/${i.run}`, /TR-00001/],
    ['deliveries', () => '/deliveries', /Deliveries/],
    ['a delivered delivery', (i) => `/deliveries/${i.delivery}`, /Delivery/],
    ['a pending delivery', (i) => `/deliveries/${i.pendingDelivery}`, /Delivery/],
    ['API keys', () => '/api-keys', /API keys/],
    ['not found', () => '/no-such-page', /not found/i],
  ];

  it.each(PAGES)('%s renders with no CSP violation or console error', async (_name, path, heading) => {
    await page.goto(path(ids));
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForLoadState('networkidle');
    await expect.poll(() => page.locator('.loading').count()).toBe(0);
    expect(await problemsOn()).toEqual({ violations: [], consoleErrors: [] });
  });

  it('the API reference at /docs renders with no CSP violation or console error', async () => {
    await page.goto('/docs');
    await page.locator('.swagger-ui .info .title').first().waitFor();
    await expect.poll(() => page.locator('.opblock').count()).toBeGreaterThan(20);
    // Open one operation: its schema and example render too.
    await page.locator('.opblock-summary').first().click();
    await page.locator('.opblock-body').first().waitFor();
    await page.waitForLoadState('networkidle');
    expect(await problemsOn()).toEqual({ violations: [], consoleErrors: [] });
  });

  it('nothing may frame the dashboard', async () => {
    // A page on another origin (a data: URL) that tries to frame it is refused by frame-ancestors.
    await page.goto('/');
    await page.setContent(`<iframe id="f" src="${server.baseUrl}/login"></iframe>`);
    await expect
      .poll(async () => consoleErrors.some((e) => /frame-ancestors|Refused to (display|frame)/i.test(e)))
      .toBe(true);
    consoleErrors.splice(0);
  });
});
