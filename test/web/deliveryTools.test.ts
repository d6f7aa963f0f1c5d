/**
 * The delivery page and list as a developer debugging a receiver uses them, in real Chromium:
 * the raw request body copied from the page verifies against the attempt's signature; deliveries
 * are found by run UUID, TR- id, event id (webhook-id) or delivery id; the notifications switch
 * says Off while there is no webhook; the agent form speaks a CI user's language.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../sdk/index.js';
import { chromiumFound, type Dashboard, openDashboard, waitFor } from './harness.js';

const SECRET = 'copy-me-exactly-secret';

describe.skipIf(!chromiumFound)('delivery page and search in Chromium', () => {
  let h: Dashboard;
  let page: Page;
  let agentId: string;

  beforeAll(async () => {
    h = await openDashboard({
      prepareContext: (context, origin) =>
        context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin }),
      signInAt: '/',
    });
    page = h.page;
    agentId = (await h.rest.post<{ id: string }>('/agents', { name: 'checkout-api' })).id;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('the notifications switch is Off until there is a webhook, and typing an endpoint turns it on', async () => {
    for (const [path, formName] of [
      ['/settings/webhooks', 'Organization webhook'],
      [`/agents/${agentId}`, 'Agent webhook'],
    ] as const) {
      await page.goto(path);
      const form = page.getByRole('form', { name: formName });
      const toggle = form.getByLabel('Send webhook notifications');
      await toggle.waitFor();
      expect(await toggle.isChecked()).toBe(false);
      expect(await form.locator('.field-switch .hint').textContent()).toContain('no webhook yet');
      await form.getByLabel('Endpoint URL').fill(h.receiver.url('/x'));
      expect(await toggle.isChecked()).toBe(true);
      await form.getByLabel('Endpoint URL').fill('');
      expect(await toggle.isChecked()).toBe(false);
    }
    // A switch the user set stays as set.
    const form = page.getByRole('form', { name: 'Agent webhook' });
    await form.getByLabel('Send webhook notifications').check();
    await form.getByLabel('Send webhook notifications').uncheck();
    await form.getByLabel('Endpoint URL').fill(h.receiver.url('/x'));
    expect(await form.getByLabel('Send webhook notifications').isChecked()).toBe(false);
  });

  it('a custom header named __proto__ is refused by name, not silently dropped', async () => {
    await page.goto(`/agents/${agentId}`);
    const form = page.getByRole('form', { name: 'Agent webhook' });
    await form.getByLabel('Endpoint URL').fill(h.receiver.url('/proto'));
    await form.getByRole('button', { name: 'Add header' }).click();
    await form.getByLabel('Header 1 name').fill('__proto__');
    await form.getByLabel('Header 1 value').fill('x');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('__proto__ cannot be used as a header name').first().waitFor();
    const hooks = await h.rest.get<{ total: number }>(`/webhooks?agent_id=${agentId}`);
    expect(hooks.total).toBe(0);
  });

  it('the agent form explains its fields without AI-vendor jargon', async () => {
    await page.goto('/agents');
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Built with (optional)').waitFor();
    const text = await page.locator('main').textContent();
    expect(text).not.toContain('vapi, retell, openai');
    expect(text).toContain('runhook report --agent');
    expect(text).toContain('runs of an inactive agent are still recorded and delivered');
  });

  it('copies the raw request body, which verifies against the signature the receiver got', async () => {
    await h.rest.post('/webhooks', { url: h.receiver.url('/org'), secret: SECRET });
    const run = await h.rest.post<{ id: string }>('/runs', {
      agent_id: agentId,
      name: 'Nightly ✓ “quoted” <b>',
      status: 'completed',
      passed_count: 3,
      failed_count: 0,
      error_count: 0,
    });
    const received = await waitFor('the delivery', () => h.receiver.requests.find((r) => r.path === '/org'));
    const list = await waitFor('a succeeded delivery', async () => {
      const answer = await h.rest.get<{ deliveries: Array<{ id: string; status: string }> }>(
        `/deliveries?test_run_id=${run.id}`,
      );
      return answer.deliveries[0]?.status === 'succeeded' ? answer.deliveries[0] : undefined;
    });

    await page.goto(`/deliveries/${list.id}`);
    const attempt = page.getByTestId('attempt').first();
    const body = attempt.getByTestId('attempt-request-body');
    await body.waitFor();
    // Formatted by default: not the bytes that were signed.
    expect(await body.textContent()).not.toBe(received.body);
    await attempt.getByRole('button', { name: 'Raw (as sent)' }).first().click();
    expect(await body.textContent()).toBe(received.body);

    await attempt
      .getByRole('button', { name: 'Copy raw: Request body of attempt 1, exactly as sent' })
      .click();
    await attempt.getByText('Copied, byte for byte.').waitFor();
    const copied = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(copied).toBe(received.body);
    const verified = verifyWebhook<{ test_run: { id: string } }>(copied, received.headers as never, SECRET);
    expect(verified.test_run.id).toBe(run.id);
    // The formatted text would not verify: that is why Copy takes the raw one.
    expect(() =>
      verifyWebhook(JSON.stringify(JSON.parse(copied), null, 2), received.headers as never, SECRET),
    ).toThrow();
  });

  it('finds deliveries by TR- id, run UUID, event id (webhook-id) and delivery id', async () => {
    const runs = await h.rest.get<{ runs: Array<{ id: string; test_run_id: string }> }>('/runs?limit=100');
    // A second run, so a search that found everything would be caught.
    const other = await h.rest.post<{ id: string; test_run_id: string }>('/runs', {
      agent_id: agentId,
      status: 'failed',
      failed_count: 1,
    });
    const first = runs.runs[0]!;
    await waitFor('two deliveries', async () => {
      const all = await h.rest.get<{ total: number }>('/deliveries');
      return all.total >= 2;
    });
    const firstDelivery = (
      await h.rest.get<{ deliveries: Array<{ id: string; event_id: string }> }>(
        `/deliveries?test_run_id=${first.id}`,
      )
    ).deliveries[0]!;

    await page.goto('/deliveries');
    const search = page.getByLabel('Find by run or event id');
    const rows = page.getByTestId('delivery-row');
    const find = async (text: string) => {
      await search.fill(text);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
    };

    for (const [text, expected] of [
      [first.test_run_id, `Deliveries of test run ${first.test_run_id}`],
      [first.id.toUpperCase(), `Deliveries of test run ${first.id}`],
      [firstDelivery.event_id, `Deliveries of event ${firstDelivery.event_id}`],
    ] as const) {
      await find(text);
      await expect.poll(() => page.getByTestId('search-result').textContent()).toBe(expected);
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().getAttribute('data-delivery-id')).toBe(firstDelivery.id);
      expect(new URL(page.url()).searchParams.get('q')).toBe(text);
    }

    await find(other.test_run_id);
    await expect.poll(() => rows.first().getAttribute('data-delivery-id')).not.toBe(firstDelivery.id);
    expect(await rows.count()).toBe(1);

    await find('TR-09999');
    await page.getByText('No delivery of a test run or event with the id TR-09999.').waitFor();

    await find('not an id');
    await expect.poll(() => search.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#deliveries-search-hint').textContent()).toContain('TR-00042');

    await page.getByRole('button', { name: 'Clear search' }).click();
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);

    // A delivery's own id opens it.
    await find(firstDelivery.id);
    await page.waitForURL(new RegExp(`/deliveries/${firstDelivery.id}$`));
  });
});
