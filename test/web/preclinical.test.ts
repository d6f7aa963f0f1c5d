/**
 * Preclinical's agent and suite fields in the dashboard (docs/api.md#agents, #test-suites): the
 * provider picked from its list, a "configured" marker where a provider config is stored (never
 * its content), the config's shape check, and a run's suite by name. Real server, headless Chromium.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard } from './harness.js';

const KEY = 'va_dashboard_secret_1234';

describe.skipIf(!chromiumFound)(
  "Preclinical's agent and suite fields in the dashboard (headless Chromium)",
  () => {
    let h: Dashboard;
    let page: Page;

    beforeAll(async () => {
      h = await openDashboard({ signInAt: '/' });
      page = h.page;
    }, 90_000);

    afterAll(() => h?.close(), 30_000);

    it('marks configured agents, checks the config shape, and never shows the config', async () => {
      const configured = await h.rest.post<{ id: string }>('/agents', {
        name: 'Triage line',
        provider: 'vapi',
        config: { assistant_id: 'asst_dash' },
      });
      await h.rest.post('/agents', { name: 'Plain agent' });

      await page.goto('/agents');
      const table = page.getByTestId('agents-table');
      await table.waitFor();
      const row = (name: string) => table.getByRole('row').filter({ hasText: name });
      await expect.poll(() => row('Triage line').getByTestId('agent-configured').count()).toBe(1);
      expect(await row('Plain agent').getByTestId('agent-configured').count()).toBe(0);
      expect(await row('Triage line').textContent()).toContain('vapi');

      await page.goto(`/agents/${configured.id}`);
      const panel = page.getByTestId('agent-config');
      await panel.waitFor();
      expect(await panel.textContent()).toContain('A config is stored');
      await panel.getByRole('button', { name: 'Check config' }).click();
      const check = panel.getByTestId('agent-config-check');
      await check.waitFor();
      expect(await check.getAttribute('data-valid')).toBe('false');
      expect(await check.textContent()).toBe('config is missing api_key');

      // Completed through the API; the check on the page follows.
      await h.rest.request('PUT', `/agents/${configured.id}`, {
        config: { assistant_id: 'asst_dash', api_key: KEY },
      });
      await page.reload();
      await panel.getByRole('button', { name: 'Check config' }).click();
      await expect.poll(() => check.getAttribute('data-valid')).toBe('true');
      expect(await page.content()).not.toContain(KEY);
      expect(await page.content()).not.toContain('asst_dash');

      // Saving the form keeps the config; the provider is picked from the list.
      await page.getByLabel('Built with (optional)').selectOption('retell');
      await page.getByRole('button', { name: 'Save agent' }).click();
      await page.getByTestId('agent-save-status').waitFor();
      const saved = await h.rest.get<{ provider: string; has_config: boolean }>(`/agents/${configured.id}`);
      expect(saved).toMatchObject({ provider: 'retell', has_config: true });
    });

    it('shows the name of a run’s test suite, and a grading run’s status', async () => {
      const agent = await h.rest.post<{ id: string }>('/agents', { name: 'Suite runner' });
      const suite = await h.rest.post<{ id: string }>('/test-suites', {
        name: 'Emergency Triage',
        scenario_ids: ['s-1', 's-2'],
      });
      const named = await h.rest.post<{ id: string }>('/runs', {
        agent_id: agent.id,
        test_suite_id: suite.id,
        status: 'grading',
      });
      const opaque = await h.rest.post<{ id: string }>('/runs', {
        agent_id: agent.id,
        test_suite_id: 'nightly-triage',
        status: 'completed',
        passed_count: 1,
      });

      await page.goto(`/runs/${named.id}`);
      const suiteFact = page.getByTestId('run-suite');
      await suiteFact.waitFor();
      expect(await suiteFact.textContent()).toBe('Emergency Triage');
      expect(await page.getByTestId('status-badge').first().textContent()).toBe('grading');

      await page.goto(`/runs/${opaque.id}`);
      await suiteFact.waitFor();
      expect(await suiteFact.textContent()).toBe('nightly-triage');
    });
  },
);
