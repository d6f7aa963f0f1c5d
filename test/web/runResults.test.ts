/**
 * What a run says failed, in the dashboard (real headless Chromium, real server, real receiver):
 * the run page lists the failing tests; the webhook form's format picker previews the sample
 * run in the chosen format exactly as Test Webhook then delivers it; the filter editor saves a
 * filter and the webhook shows it as one clear line.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_FORMATS } from '../../src/domain/types.js';
import { chromiumFound, type Dashboard, openDashboard, waitFor } from './harness.js';

const STEP = 20_000;

interface Webhook {
  id: string;
  agent_id: string | null;
  format: string;
  filter: unknown;
}

/** Times and the results link differ between two renderings of the sample; the rest must not. */
function comparable(body: string, origins: string[]): unknown {
  let text = body;
  for (const origin of origins) text = text.split(origin).join('<origin>');
  text = text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/"timestamp":\s*[\d.]+/g, '"timestamp":0')
    .replace(/<!date\^\d+\^[^>]*>/g, '<date>');
  return JSON.parse(text);
}

describe.skipIf(!chromiumFound)('run results in the dashboard (headless Chromium)', () => {
  let h: Dashboard;
  let page: Page;

  beforeAll(async () => {
    h = await openDashboard({ stepTimeoutMs: STEP, signInAt: '/settings/webhooks' });
    page = h.page;
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('lists a run’s failing tests on its run page', async () => {
    const agent = await h.rest.post<{ id: string }>('/agents', { name: 'Triage Bot' });
    const failures = [
      {
        name: 'test_escalates_stroke',
        classname: 'tests.test_triage',
        file: 'tests/test_triage.py',
        message: "AssertionError: expected 'ESCALATE'\n  got 'ADVISE'",
        kind: 'failed',
      },
      { name: 'test_needs_database', message: 'ConnectionError: database is not reachable', kind: 'error' },
      { name: 'TestSeverity/high' },
    ];
    const run = await h.rest.post<{ id: string; test_run_id: string }>('/runs', {
      agent_id: agent.id,
      name: 'Nightly regression',
      status: 'failed',
      passed_count: 7,
      failed_count: 3,
      error_count: 1,
      failures,
    });
    await page.goto(`/runs/${run.id}`);
    const section = page.getByTestId('run-failures');
    await section.getByTestId('failures').waitFor();
    expect(await section.getByRole('heading').textContent()).toBe('Failing tests');
    expect(await section.getByTestId('failures-summary').textContent()).toBe(
      '3 failing tests listed of 4 failed or errored (a run keeps at most 50).',
    );
    const items = section.getByTestId('failure');
    expect(await items.count()).toBe(3);
    expect(await items.getByTestId('failure-name').allTextContents()).toEqual([
      'test_escalates_stroke',
      'test_needs_database',
      'TestSeverity/high',
    ]);
    expect(await items.nth(0).textContent()).toContain('failed');
    expect(await items.nth(0).getByTestId('failure-where').textContent()).toBe(
      'tests.test_triage · tests/test_triage.py',
    );
    expect(await items.nth(0).getByTestId('failure-message').textContent()).toBe(
      "AssertionError: expected 'ESCALATE'\n  got 'ADVISE'",
    );
    expect(await items.nth(1).locator('.badge').textContent()).toBe('error');
    expect(await items.nth(2).getByTestId('failure-message').count()).toBe(0);

    // A green run says so instead of an empty list.
    const green = await h.rest.post<{ id: string }>('/runs', {
      agent_id: agent.id,
      name: 'Smoke',
      status: 'completed',
      passed_count: 5,
    });
    await page.goto(`/runs/${green.id}`);
    expect(await page.getByTestId('failures-none').textContent()).toBe('No test failed in this run.');
  });

  it('offers every format, previews the sample run in it, and Test Webhook delivers that body', async () => {
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    const picker = form.getByLabel('Payload format');
    await picker.waitFor();
    const offered = await picker
      .locator('option')
      .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
    // Exactly the formats the server renders (src/domain/types.ts), chat formats included.
    expect(offered).toEqual([...WEBHOOK_FORMATS]);
    expect(offered).toEqual(expect.arrayContaining(['standard', 'clix', 'slack', 'discord', 'teams']));

    await form.getByLabel('Endpoint URL').fill(h.receiver.url('/preview'));
    const preview = form.getByTestId('format-preview');
    for (const format of WEBHOOK_FORMATS) {
      await picker.selectOption(format);
      await expect.poll(() => preview.getAttribute('data-format')).toBe(format);
      const shown = (await preview.textContent()) ?? '';
      // The sample run names its failing tests in every chat format.
      if (format !== 'clix') expect(shown).toContain('Sample test run');
      if (String(format) === 'discord') expect(JSON.parse(shown)).toHaveProperty('embeds');
      if (String(format) === 'teams') expect(JSON.parse(shown)).toMatchObject({ type: 'message' });

      await form.getByRole('button', { name: 'Save' }).click();
      await form.getByTestId('save-status').waitFor();
      const before = h.receiver.requests.filter((r) => r.path === '/preview').length;
      await page.getByRole('button', { name: 'Test Webhook' }).click();
      await page.getByTestId('test-result').waitFor();
      const received = await waitFor(`a ${format} test delivery`, () => {
        const got = h.receiver.requests.filter((r) => r.path === '/preview');
        return got.length > before ? got[got.length - 1] : undefined;
      });
      const origins = [h.server.baseUrl, new URL(page.url()).origin, 'http://localhost:8080'];
      // Same code, same sample: the preview is the body the endpoint receives (times aside).
      expect(comparable((await preview.textContent()) ?? '', origins)).toEqual(
        comparable(received.body, origins),
      );
    }
  });

  it('edits a filter, refuses a bad threshold, and shows the filter as one line on the webhook', async () => {
    const existing = (await h.rest.get<{ webhooks: Webhook[] }>('/webhooks')).webhooks;
    if (!existing.some((w) => !w.agent_id))
      await h.rest.post('/webhooks', { url: h.receiver.url('/filter') });
    await page.goto('/settings/webhooks');
    const form = page.getByRole('form', { name: 'Organization webhook' });
    const editor = form.getByTestId('filter-editor');
    await editor.waitFor();
    expect(await page.getByTestId('webhook-filter-line').textContent()).toBe('Sent for every finished run');

    await editor.getByLabel('failed').check();
    await editor.getByLabel('Only when the pass rate is below').check();
    await editor.getByLabel('Pass rate threshold (percent)').fill('150');
    await form.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field-error').waitFor();
    expect(await editor.locator('.field-error').textContent()).toBe(
      'Enter a pass rate above 0 and at most 100.',
    );
    let saved = (await h.rest.get<{ webhooks: Webhook[] }>('/webhooks')).webhooks.find((w) => !w.agent_id);
    expect(saved?.filter).toBeNull();

    await editor.getByLabel('Pass rate threshold (percent)').fill('90');
    expect(await editor.getByTestId('filter-preview').textContent()).toContain(
      'Sent for only failed runs with a pass rate below 90 %.',
    );
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('save-status').waitFor();
    saved = (await h.rest.get<{ webhooks: Webhook[] }>('/webhooks')).webhooks.find((w) => !w.agent_id);
    expect(saved?.filter).toEqual({ statuses: ['failed'], below_pass_rate: 90 });
    await expect
      .poll(() => page.getByTestId('webhook-filter-line').textContent())
      .toBe('Sent for only failed runs with a pass rate below 90 %');

    // After a reload the editor shows what was saved.
    await page.reload();
    await editor.waitFor();
    expect(await editor.getByLabel('failed').isChecked()).toBe(true);
    expect(await editor.getByLabel('completed').isChecked()).toBe(false);
    expect(await editor.getByLabel('Pass rate threshold (percent)').inputValue()).toBe('90');

    // Unticking everything removes the filter.
    await editor.getByLabel('failed').uncheck();
    await editor.getByLabel('Only when the pass rate is below').uncheck();
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('save-status').waitFor();
    saved = (await h.rest.get<{ webhooks: Webhook[] }>('/webhooks')).webhooks.find((w) => !w.agent_id);
    expect(saved?.filter).toBeNull();

    // An agent's own webhook says what its filter means for the agent's runs.
    const agent = await h.rest.post<{ id: string }>('/agents', { name: 'Filtered Bot' });
    await h.rest.post('/webhooks', {
      url: h.receiver.url('/agent-filter'),
      agent_id: agent.id,
      filter: { statuses: ['failed', 'canceled'] },
    });
    await page.goto(`/agents/${agent.id}`);
    const agentForm = page.getByRole('form', { name: 'Agent webhook' });
    await agentForm.getByTestId('filter-editor').waitFor();
    expect(await page.getByTestId('webhook-filter-line').textContent()).toBe(
      'Sent for only failed or canceled runs',
    );
    expect(await agentForm.getByTestId('filter-preview').textContent()).toContain(
      'it does not go to the organization webhook instead',
    );
  });
});
