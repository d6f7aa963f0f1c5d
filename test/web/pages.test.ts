/**
 * Every dashboard page, and the API reference at /docs, opened in real headless Chromium against
 * a real server: each renders under the server's Content-Security-Policy with no violation and no
 * console error, and axe-core (WCAG 2.1 A/AA and its best practices) finds nothing on it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumFound,
  type Dashboard,
  openDashboard,
  type Receiver,
  startReceiver,
  trackRequests,
  waitFor,
  waitForQuiet,
} from './harness.js';

interface Problems {
  violations: string[];
  consoleErrors: string[];
}

/**
 * axe-core's own script, evaluated in the page through the DevTools protocol (which the page's
 * CSP does not govern, unlike an injected <script>).
 */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary: string }>;
}

/** Runs in each page before its own scripts: records every CSP violation the browser reports. */
const RECORD_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
  });
`;

describe.skipIf(!chromiumFound)('every page in Chromium, under the Content-Security-Policy', () => {
  let h: Dashboard;
  let failing: Receiver;
  let page: Page;
  const consoleErrors: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    failing = await startReceiver();
    failing.setMode('fail');
    // Retries an hour apart: a failed first attempt leaves its delivery pending for the test.
    // One failed attempt marks a webhook degraded, so its warning is on the agent's page.
    h = await openDashboard({
      env: { RUNHOOK_RETRY_SCHEDULE: '1h', RUNHOOK_DEGRADED_AFTER: '1' },
      prepareContext: (context) => context.addInitScript(RECORD_VIOLATIONS),
      preparePage: (opened) => {
        trackRequests(opened);
        opened.on('console', (message) => {
          if (message.type() === 'error') consoleErrors.push(message.text());
        });
        opened.on('pageerror', (error) => consoleErrors.push(String(error)));
      },
    });
    page = h.page;
    const { rest } = h;
    const ok = h.receiver;

    // Something on every page: an organization webhook that works, an agent whose webhook fails
    // (its delivery waits for a retry), finished and running test runs.
    await rest.post('/webhooks', { url: ok.url('/org'), secret: 'org-secret-for-tests' });
    const good = await rest.post<{ id: string }>('/agents', {
      name: 'Checkout Bot',
      provider: 'openai',
      config: { api_key: 'sk-test-config' },
    });
    const suite = await rest.post<{ id: string }>('/test-suites', {
      name: 'Checkout',
      scenario_ids: ['pay'],
    });
    const flaky = await rest.post<{ id: string }>('/agents', { name: 'Flaky Bot' });
    await rest.post('/webhooks', { url: failing.url('/flaky'), agent_id: flaky.id });
    ids.agent = good.id;
    ids.flakyAgent = flaky.id;
    ids.run = (
      await rest.post<{ id: string }>('/runs', {
        agent_id: good.id,
        name: 'Nightly',
        test_suite_id: suite.id,
        status: 'completed',
        passed_count: 9,
        failed_count: 1,
        error_count: 0,
      })
    ).id;
    ids.failedRun = (
      await rest.post<{ id: string }>('/runs', {
        agent_id: flaky.id,
        name: 'Smoke',
        status: 'failed',
        passed_count: 1,
        failed_count: 2,
        failures: [
          {
            name: 'pays with a card',
            classname: 'checkout',
            file: 'checkout.spec.ts',
            message: 'expected 200, got 502',
          },
          { name: 'applies a coupon', message: 'timeout after 30 s', kind: 'error' },
        ],
      })
    ).id;
    await rest.post('/runs', { agent_id: good.id, name: 'Still running', total_scenarios: 4 });
    // Two runs with scenario results: what changed, the scenario list, the agent's tests.
    const withResults = (status: string) =>
      rest.post<{ id: string }>('/runs', {
        agent_id: good.id,
        name: 'Checkout suite',
        status: status === 'passed' ? 'completed' : 'failed',
        results: [
          {
            name: 'pays with a card',
            suite: 'checkout',
            status,
            message: status === 'failed' ? 'got 502' : null,
          },
          {
            name: 'answers politely',
            suite: 'tone',
            status: 'passed',
            score: { points_awarded: 1, max_points: 2 },
            criteria: [{ criterion: 'says please', decision: 'PARTIAL', rationale: 'once' }],
          },
          { name: 'later', status: 'skipped' },
        ],
      });
    await withResults('passed');
    ids.resultsRun = (await withResults('failed')).id;
    const tests = await rest.get<{ tests: Array<{ id: string; name: string }> }>(`/agents/${good.id}/tests`);
    ids.test = tests.tests.find((t) => t.name === 'pays with a card')!.id;
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
    await h?.close();
    await failing?.close();
  }, 30_000);

  /** axe's violations on the page as it is now, one line per node, for a readable failure. */
  async function axeViolations(): Promise<string[]> {
    if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate<AxeViolation[]>(
      'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)',
    );
    return violations.flatMap((v) =>
      v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}) at ${n.target.join(' ')}: ${n.failureSummary}`),
    );
  }

  async function problemsOn(): Promise<Problems> {
    const violations = await page.evaluate<string[]>('window.__cspViolations ?? []');
    return { violations, consoleErrors: consoleErrors.splice(0) };
  }

  it('the sign-in page', async () => {
    await page.goto('/login');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await problemsOn()).toEqual({ violations: [], consoleErrors: [] });
    expect(await axeViolations()).toEqual([]);
    await page.getByLabel('API key').fill(h.server.apiKey);
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
    ['a failed test run with its failures', (i) => `/runs/${i.failedRun}`, /TR-00002/],
    ['an agent whose webhook is failing', (i) => `/agents/${i.flakyAgent}`, /Flaky Bot/],
    ['a run with scenario results and what changed', (i) => `/runs/${i.resultsRun}`, /TR-00005/],
    ['an agent’s tests', (i) => `/agents/${i.agent}?tab=tests`, /Checkout Bot/],
    ['a test’s history', (i) => `/agents/${i.agent}/tests/${i.test}`, /pays with a card/],
    ['deliveries', () => '/deliveries', /Deliveries/],
    ['a delivered delivery', (i) => `/deliveries/${i.delivery}`, /Delivery/],
    ['a pending delivery', (i) => `/deliveries/${i.pendingDelivery}`, /Delivery/],
    ['API keys', () => '/api-keys', /API keys/],
    ['not found', () => '/no-such-page', /not found/i],
  ];

  it.each(PAGES)('%s: no CSP violation, no console error, no axe violation', async (_name, path, heading) => {
    await page.goto(path(ids));
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await waitForQuiet(page);
    await expect.poll(() => page.locator('.loading').count()).toBe(0);
    expect(await problemsOn()).toEqual({ violations: [], consoleErrors: [] });
    // Everything folded open too: attempts, headers, previews.
    await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
    expect(await axeViolations()).toEqual([]);
  });

  /** The page as it is after an interaction: still nothing for axe to report. */
  async function expectAccessibleNow(expectedErrors: RegExp[] = []) {
    await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
    expect(await axeViolations()).toEqual([]);
    const { violations, consoleErrors: errors } = await problemsOn();
    expect(violations).toEqual([]);
    // A refused request is logged by the browser itself; anything else is a bug.
    expect(errors.filter((e) => !expectedErrors.some((x) => x.test(e)))).toEqual([]);
  }

  it('keeps keyboard focus on Save and on Test Webhook while they work, and after', async () => {
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    const save = form.getByRole('button', { name: 'Save' });
    await save.focus();
    await page.keyboard.press('Enter');
    await form.getByTestId('save-status').waitFor();
    expect(await save.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);

    const test = page.getByRole('button', { name: 'Test Webhook' });
    await test.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('test-result').waitFor();
    expect(await test.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await expectAccessibleNow();

    await page.goto(`/agents/${ids.agent}`);
    const saveAgent = page.getByRole('button', { name: 'Save agent' });
    await saveAgent.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('agent-save-status').waitFor();
    expect(await saveAgent.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);

    await page.goto(`/deliveries/${ids.delivery}`);
    const redeliver = page.getByRole('button', { name: 'Redeliver' });
    await redeliver.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('redeliver-status').waitFor();
    expect(await redeliver.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // The raw view of a body, with its Copy button.
    await page.getByRole('button', { name: 'Raw (as sent)' }).first().click();
    await expectAccessibleNow();
  });

  it("the switch's focus ring stands apart from its On colour", async () => {
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    const toggle = form.getByLabel('Send webhook notifications');
    expect(await toggle.isChecked()).toBe(true);
    // Reached by keyboard, as :focus-visible requires.
    await form.getByLabel('Endpoint URL').focus();
    await page.keyboard.press('Shift+Tab');
    expect(await toggle.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    const style = await toggle.evaluate((el) => {
      const s = el.ownerDocument.defaultView!.getComputedStyle(el);
      return {
        outline: `${s.outlineStyle} ${s.outlineWidth}`,
        ring: s.outlineColor,
        fill: s.backgroundColor,
      };
    });
    expect(style.outline).toBe('solid 2px');
    expect(style.ring).not.toBe(style.fill);
    expect(style.ring).toBe('rgb(28, 34, 48)');
  });

  it('forms in their error and confirmation states', async () => {
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    await form.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('webhook-url-error').waitFor();
    await expectAccessibleNow([/status of 400/]);

    await page.goto('/agents');
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('alert').first().waitFor();
    await expectAccessibleNow();

    await page.goto('/api-keys');
    await page.getByLabel('Name').fill('axe check');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('new-key').waitFor();
    await expectAccessibleNow();
    await page.getByRole('button', { name: 'Done' }).click();
    const revoke = page.getByRole('button', { name: 'Revoke key axe check' });
    await revoke.click();
    await expectAccessibleNow();

    // The failing webhook's banner and its "resend failed deliveries" dialog.
    await page.goto(`/agents/${ids.flakyAgent}`);
    await page.getByRole('button', { name: 'Resend failed deliveries…' }).click();
    await page.locator('.recover-dialog').waitFor();
    await expectAccessibleNow();
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
    await page.setContent(`<iframe id="f" src="${h.server.baseUrl}/login"></iframe>`);
    await expect
      .poll(async () => consoleErrors.some((e) => /frame-ancestors|Refused to (display|frame)/i.test(e)))
      .toBe(true);
    consoleErrors.splice(0);
  });
});
