/**
 * A run whose delivery history retention deleted says so on its page (docs/operations.md#retention):
 * real server with RUNHOOK_RETENTION=2s, real receiver, headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard, signIn, waitFor } from './harness.js';

describe.skipIf(!chromiumFound)('expired delivery history in the dashboard (headless Chromium)', () => {
  let h: Dashboard;

  beforeAll(async () => {
    h = await openDashboard({ env: { RUNHOOK_RETENTION: '2s' } });
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('the run page says the delivery history expired, and when', async () => {
    const { rest, receiver, page } = h;
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
    await signIn(page, h.server.apiKey, '/');
    await page.goto(`/runs/${run.id}`);
    const note = page.getByTestId('deliveries-expired');
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    expect(text).toContain('delivery history has expired');
    expect(text).toContain('RUNHOOK_RETENTION');
    expect(text).not.toContain('no enabled webhook');
  }, 60_000);
});
