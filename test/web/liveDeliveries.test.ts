/**
 * The delivery list updates live (docs/api.md#live-tail), in real Chromium: a run finished while
 * the page is open shows up in the list without a reload, and the page stays axe-clean.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard } from './harness.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  nodes: Array<{ target: string[] }>;
}

describe.skipIf(!chromiumFound)('live delivery list in Chromium', () => {
  let h: Dashboard;
  let page: Page;

  beforeAll(async () => {
    h = await openDashboard({ signInAt: '/' });
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('shows a delivery recorded while the page is open, without a reload', async () => {
    const agent = await h.rest.post<{ id: string }>('/agents', { name: 'live-agent' });
    await h.rest.post('/webhooks', { url: h.receiver.url('/live'), agent_id: agent.id });
    await page.goto('/deliveries');
    await page.getByText('No deliveries yet').waitFor();
    await page.evaluate('window.__sameDocument = true');
    // The stream is open once the page has asked for it; give it a moment to be listening.
    await page.waitForTimeout(500);

    await h.rest.post('/runs', {
      agent_id: agent.id,
      name: 'Live run',
      status: 'completed',
      passed_count: 3,
      failed_count: 0,
      error_count: 0,
    });
    const row = page.locator('[data-testid="delivery-row"][data-status="succeeded"]');
    await row.first().waitFor({ timeout: 10_000 });
    expect(await row.count()).toBe(1);
    expect(await page.evaluate('window.__sameDocument === true')).toBe(true);

    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate<AxeViolation[]>(
      'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)',
    );
    expect(violations.map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual(
      [],
    );
  });
});
