/**
 * Endpoint health in the dashboard, in real headless Chromium against the built server on a temp
 * SQLite file: an endpoint answers 410, the banner says so with the date, runs meanwhile are
 * recorded as failed (not sent), Re-enable turns the webhook back on, and "Resend failed
 * deliveries…" shows the dry-run count before it resends them with their original webhook-id.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { chromiumFound, type Dashboard, openDashboard, signIn, waitFor } from './harness.js';

interface Webhook {
  id: string;
  is_enabled: boolean;
  health: string;
  disabled_reason: string | null;
  disabled_at: string | null;
}
interface Delivery {
  id: string;
  event_id: string;
  status: string;
  kind: string;
  failure_reason: string | null;
}

describe.skipIf(!chromiumFound)('endpoint health in the dashboard (Chromium)', () => {
  let h: Dashboard;
  let receiver: Receiver;
  let page: Page;

  beforeAll(async () => {
    receiver = await startReceiver();
    // Probes far away: this test turns the webhook back on by hand.
    h = await openDashboard({ env: { RUNHOOK_PROBE_SCHEDULE: '1h' } });
    page = h.page;
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  }, 30_000);

  it('shows why a webhook is off, re-enables it and resends what it missed after a dry-run count', async () => {
    const agent = await h.rest.request<{ id: string }>('POST', '/agents', { name: 'Banner agent' });
    const hook = await h.rest.request<Webhook>('POST', '/webhooks', { url: receiver.url });
    const finish = async () =>
      (
        await h.rest.request<{ id: string }>('POST', '/runs', {
          agent_id: agent.body.id,
          status: 'completed',
          passed_count: 1,
        })
      ).body.id;
    const deliveryOf = async (runId: string) =>
      (await h.rest.request<{ deliveries: Delivery[] }>('GET', `/deliveries?test_run_id=${runId}`)).body
        .deliveries[0]!;

    // The endpoint is gone: the first run's delivery gets a 410 and the webhook is turned off.
    receiver.behaviour = { kind: 'status', status: 410 };
    const first = await finish();
    const webhook = await waitFor('the webhook to be disabled by the 410', async () => {
      const w = (await h.rest.request<Webhook>('GET', `/webhooks/${hook.body.id}`)).body;
      return !w.is_enabled && w.disabled_at !== null && w;
    });
    expect(webhook).toMatchObject({ health: 'disabled', disabled_reason: 'gone' });
    // Two more runs meanwhile: recorded as failed at once, nothing sent.
    const sentBefore = receiver.requests.length;
    const later = [await finish(), await finish()];
    for (const run of later) {
      expect(await deliveryOf(run)).toMatchObject({ status: 'failed', failure_reason: 'webhook_disabled' });
    }
    expect(receiver.requests.length).toBe(sentBefore);

    await signIn(page, h.server.apiKey, '/settings/webhooks');
    const day = new Date(webhook.disabled_at!).toLocaleDateString('en-GB', {
      day: 'numeric',
      month: 'short',
    });
    const banner = page.getByTestId('health-banner');
    await expect
      .poll(() => page.getByTestId('health-message').textContent())
      .toBe(`Disabled on ${day}: your endpoint answered 410 Gone.`);
    expect(await page.getByTestId('health-badge').first().textContent()).toBe('disabled');
    // Recover needs the webhook on: the API's 409 reaches the dialog.
    await banner.getByRole('button', { name: 'Resend failed deliveries…' }).click();
    await page.getByRole('button', { name: 'Count failed deliveries' }).click();
    await expect.poll(() => page.getByTestId('recover-error').textContent()).toContain('disabled');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    // The endpoint is fixed; the user turns the webhook back on.
    receiver.behaviour = { kind: 'status', status: 200 };
    await banner.getByRole('button', { name: 'Re-enable' }).click();
    await expect.poll(() => page.getByTestId('health-badge').first().textContent()).toBe('healthy');
    expect(await page.getByTestId('health-banner').count()).toBe(0);
    expect((await h.rest.request<Webhook>('GET', `/webhooks/${hook.body.id}`)).body).toMatchObject({
      is_enabled: true,
      disabled_reason: null,
      health: 'healthy',
    });

    // Resend: the dialog counts first (a dry run: nothing is sent), then asks.
    await page.getByRole('button', { name: 'Resend failed deliveries…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Resend failed deliveries' });
    const from = new Date(Date.now() - 3_600_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    await dialog
      .getByLabel('From')
      .fill(
        `${from.getFullYear()}-${pad(from.getMonth() + 1)}-${pad(from.getDate())}T${pad(from.getHours())}:${pad(from.getMinutes())}`,
      );
    await dialog.getByRole('button', { name: 'Count failed deliveries' }).click();
    await expect
      .poll(() => page.getByTestId('recover-count').textContent())
      .toBe('3 failed deliveries will be sent again.');
    expect(receiver.requests.length).toBe(sentBefore);
    await dialog.getByRole('button', { name: 'Resend 3 deliveries' }).click();
    await expect.poll(() => page.getByTestId('recover-done').textContent()).toContain('3 deliveries queued');

    const runs = [first, ...later];
    const events = await Promise.all(runs.map(async (r) => (await deliveryOf(r)).event_id));
    await waitFor('the three missed events to arrive', () => receiver.requests.length >= sentBefore + 3);
    const resent = receiver.requests.slice(sentBefore).map((r) => r.headers['webhook-id']);
    expect(resent.sort()).toEqual([...events].sort());
    for (const run of runs) {
      await waitFor('the delivery to succeed', async () => (await deliveryOf(run)).status === 'succeeded');
    }

    // The history shows the kind and the run of each delivery, and filters by kind.
    await page.goto(`/deliveries?webhook_id=${hook.body.id}`);
    await expect.poll(() => page.getByTestId('delivery-row').count()).toBe(3);
    expect(await page.locator('[data-testid="delivery-row"][data-kind="event"]').count()).toBe(3);
    await page.getByLabel('Kind').selectOption('test');
    await expect.poll(() => page.getByText('No deliveries match these filters.').count()).toBe(1);
  }, 120_000);
});
