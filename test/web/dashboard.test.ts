/**
 * The dashboard end to end: real headless Chromium driving the built UI of a real server on a
 * temp SQLite file, delivering to a real receiver on 127.0.0.1.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumFound,
  type Dashboard,
  openDashboard,
  RECEIVER_FAIL_BODY,
  RECEIVER_OK_BODY,
  signIn as signInAt,
  waitFor,
} from './harness.js';

interface Webhook {
  id: string;
  agent_id: string | null;
  url: string;
  headers: Record<string, string>;
  has_secret: boolean;
  is_enabled: boolean;
}
interface Run {
  id: string;
  test_run_id: string;
}
interface Delivery {
  id: string;
  status: string;
}

const STEP = 20_000;

describe.skipIf(!chromiumFound)('dashboard in headless Chromium', () => {
  let h: Dashboard;
  let page: Page;

  const signIn = (target: string) => signInAt(page, h.server.apiKey, target);

  beforeAll(async () => {
    h = await openDashboard({ stepTimeoutMs: STEP });
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('configures webhooks, tests them, shows deliveries with their attempts and redelivers', async () => {
    // Sign in: the key lands in sessionStorage, never in localStorage.
    await signIn('/settings/webhooks');
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toContain(h.server.apiKey);
    expect(await page.evaluate<string[]>('Object.values(localStorage)')).not.toContain(h.server.apiKey);

    // Organization webhook with a secret and two custom headers.
    const form = page.getByRole('form', { name: 'Organization webhook' });
    await form.getByLabel('Endpoint URL').fill(h.receiver.url('/org'));
    await form.getByLabel('Signing secret (optional)').fill('org-secret-for-tests');
    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Header 1 name').fill('X-Team');
    await form.getByLabel('Header 1 value').fill('quality');
    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Header 2 name').fill('Authorization');
    await form.getByLabel('Header 2 value').fill('Bearer receiver-token');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('save-status').waitFor();
    expect(await form.getByTestId('secret-state').textContent()).toBe('set');

    const webhooks = await h.rest.get<{ webhooks: Webhook[] }>('/webhooks');
    const org = webhooks.webhooks.find((w) => w.agent_id === null);
    expect(org).toMatchObject({
      url: h.receiver.url('/org'),
      has_secret: true,
      headers: { 'X-Team': 'quality', Authorization: 'Bearer receiver-token' },
    });

    // Test Webhook: success, HTTP status, time and the receiver's body; the receiver got our headers.
    await page.getByRole('button', { name: 'Test Webhook' }).click();
    const result = page.getByTestId('test-result');
    await result.waitFor();
    expect(await result.getByTestId('test-result-title').textContent()).toContain('Test delivered');
    expect(await result.getByTestId('test-http-status').textContent()).toBe('200');
    expect(await result.getByTestId('test-response-time').textContent()).toMatch(/\d+(\.\d+)? m?s/);
    expect(await result.getByTestId('test-response-body').textContent()).toContain(
      'hello from the test receiver',
    );
    const testRequest = h.receiver.requests.find((r) => r.path === '/org');
    expect(testRequest?.headers['x-team']).toBe('quality');
    expect(testRequest?.headers.authorization).toBe('Bearer receiver-token');
    expect(testRequest?.headers['webhook-signature']).toMatch(/^v1,/);

    // An agent with its own webhook.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('Checkout Bot');
    await page.getByLabel('Built with (optional)').selectOption('openai');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.waitForURL(/\/agents\/[0-9a-f-]{36}$/);
    const agentId = new URL(page.url()).pathname.split('/').pop()!;
    const scope = page.getByTestId('webhook-scope');
    await expect.poll(() => scope.getAttribute('data-scope')).toBe('org');
    expect(await scope.textContent()).toContain('falls back to the organization webhook');

    const agentForm = page.getByRole('form', { name: 'Agent webhook' });
    await agentForm.getByLabel('Endpoint URL').fill(h.receiver.url('/agent'));
    await agentForm.getByRole('button', { name: 'Save' }).click();
    await agentForm.getByTestId('save-status').waitFor();
    await expect.poll(() => scope.getAttribute('data-scope')).toBe('own');
    expect(await scope.textContent()).toContain('uses its own webhook');

    // CI finishes a run through the REST API: it goes to the agent's webhook.
    const run = await h.rest.post<Run>('/runs', {
      agent_id: agentId,
      name: 'Nightly regression',
      status: 'completed',
      passed_count: 9,
      failed_count: 1,
      error_count: 0,
    });
    await waitFor('the run to reach the agent webhook', () =>
      h.receiver.requests.some((r) => r.path === '/agent'),
    );
    const received = JSON.parse(h.receiver.requests.find((r) => r.path === '/agent')!.body);
    expect(received.test_run.id).toBe(run.id);

    // The delivery history, filtered to the agent's webhook.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
    await page.getByLabel('Webhook').selectOption({ label: 'Agent: Checkout Bot' });
    const rows = page.getByTestId('delivery-row');
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return rows.first().getAttribute('data-status');
        },
        { timeout: STEP, interval: 500 },
      )
      .toBe('succeeded');
    expect(await rows.count()).toBe(1);
    await rows
      .first()
      .getByRole('link', { name: /^Delivery / })
      .click();
    await page.waitForURL(/\/deliveries\/[0-9a-f-]{36}$/);

    const attempts = page.getByTestId('attempt');
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(1);
    const first = attempts.first();
    expect(await first.getByTestId('attempt-trigger').textContent()).toBe('scheduled');
    expect(await first.getByTestId('attempt-status').textContent()).toBe('200');
    expect(await first.getByTestId('attempt-response-body').textContent()).toContain(
      'hello from the test receiver',
    );
    expect(await first.getByTestId('attempt-request-body').textContent()).toContain(run.id);
    expect(JSON.parse((await first.getByTestId('attempt-response-body').textContent())!)).toEqual(
      JSON.parse(RECEIVER_OK_BODY),
    );

    // The receiver breaks; Redeliver records a manual attempt answered 500.
    h.receiver.setMode('fail');
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => attempts.count(), { timeout: STEP }).toBe(2);
    const second = page.locator('[data-testid="attempt"][data-attempt-number="2"]');
    expect(await second.getByTestId('attempt-trigger').textContent()).toBe('manual');
    expect(await second.getByTestId('attempt-status').textContent()).toBe('500');
    expect(await second.getByTestId('attempt-error-class').textContent()).toBe('http_status');
    expect(await second.getByTestId('attempt-response-body').textContent()).toContain('failing on purpose');
    expect(JSON.parse((await second.getByTestId('attempt-response-body').textContent())!)).toEqual(
      JSON.parse(RECEIVER_FAIL_BODY),
    );
    h.receiver.setMode('ok');

    // The run page is the payload's results_url: it opens directly and lists this delivery.
    await page.goto(received.results_url ? new URL(received.results_url).pathname : `/runs/${run.id}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(run.test_run_id) }).waitFor();
    const deliveriesOfRun = await h.rest.get<{ deliveries: Delivery[] }>(
      `/webhooks/${(await agentWebhook(agentId)).id}/deliveries`,
    );
    await page
      .locator(`[data-testid="delivery-row"][data-delivery-id="${deliveriesOfRun.deliveries[0]!.id}"]`)
      .waitFor();

    // Turning the agent's webhook off makes the agent fall back to the organization's.
    await page.goto(`/agents/${agentId}`);
    const agentForm2 = page.getByRole('form', { name: 'Agent webhook' });
    await agentForm2.getByLabel('Send webhook notifications').uncheck();
    await agentForm2.getByRole('button', { name: 'Save' }).click();
    await agentForm2.getByTestId('save-status').waitFor();
    await expect.poll(() => page.getByTestId('webhook-scope').getAttribute('data-scope')).toBe('org');
    expect(await page.getByTestId('webhook-scope').textContent()).toContain('its own webhook is turned off');
    expect((await agentWebhook(agentId)).is_enabled).toBe(false);
  }, 180_000);

  async function agentWebhook(agentId: string): Promise<Webhook> {
    const answer = await h.rest.get<{ webhooks: Webhook[] }>(`/webhooks?agent_id=${agentId}`);
    return answer.webhooks[0]!;
  }

  it('refuses an 11th custom header and shows API validation errors inline', async () => {
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    const rows = form.getByTestId('header-row');
    await rows.first().waitFor();
    const add = form.getByRole('button', { name: 'Add header' });
    for (let n = await rows.count(); n < 10; n++) await add.click();
    expect(await rows.count()).toBe(10);
    expect(await form.getByTestId('headers-limit').count()).toBe(0);

    await add.click();
    await form.getByTestId('headers-limit').waitFor();
    expect(await form.getByTestId('headers-limit').textContent()).toContain('at most 10 custom headers');
    expect(await rows.count()).toBe(10);

    // Removing one clears the message and lets a row be added again.
    await form.getByRole('button', { name: 'Remove header 10' }).click();
    await expect.poll(() => form.getByTestId('headers-limit').count()).toBe(0);
    expect(await rows.count()).toBe(9);

    // The server's refusal of a bad URL lands under the URL field.
    await page.reload();
    await form.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Save' }).click();
    const urlError = form.getByTestId('webhook-url-error');
    await urlError.waitFor();
    expect(await urlError.textContent()).toMatch(/\S/);
    expect(await form.getByLabel('Endpoint URL').getAttribute('aria-invalid')).toBe('true');
    await form.getByRole('alert').first().waitFor();
  }, 60_000);

  it('creates an API key shown once, lists it and revokes it', async () => {
    await page.goto('/api-keys');
    await page.getByLabel('Name').fill('GitHub Actions');
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = page.getByTestId('new-key-value');
    await value.waitFor();
    const key = await value.inputValue();
    expect(key).toMatch(/^sk_live_[A-Za-z0-9]{40}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByTestId('new-key').getByRole('status').waitFor();

    // The new key works against the API.
    const asNewKey = await fetch(`${h.server.baseUrl}/api/v1/agents`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(asNewKey.status).toBe(200);

    // Once dismissed, the value is gone from the page for good.
    await page.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('new-key').count()).toBe(0);
    expect(await page.content()).not.toContain(key);

    const row = page.getByTestId('api-key-row').filter({ hasText: 'GitHub Actions' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke key GitHub Actions' }).click();
    await row.getByRole('button', { name: 'Revoke key', exact: true }).click();
    await expect.poll(() => row.count()).toBe(0);
    const revoked = await fetch(`${h.server.baseUrl}/api/v1/agents`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(revoked.status).toBe(401);
  }, 60_000);

  it('sends a rejected key to the sign-in screen', async () => {
    await page.evaluate(
      "sessionStorage.setItem('runhook.apiKey', 'sk_live_notARealKey0000000000000000000000000000')",
    );
    await page.goto('/agents');
    await page.waitForURL(/\/login\?.*reason=expired/);
    expect(await page.evaluate("sessionStorage.getItem('runhook.apiKey')")).toBeNull();
  }, 30_000);

  it('signs out and forgets the key', async () => {
    await signIn('/runs');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    expect(await page.evaluate<string[]>('Object.keys(sessionStorage)')).toEqual([]);
    await page.goto('/deliveries');
    await page.waitForURL(/\/login\?next=%2Fdeliveries/);
    await page.getByLabel('API key').waitFor();
  }, 30_000);
});
