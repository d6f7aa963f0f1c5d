/**
 * Scenario results in the dashboard (real headless Chromium, real server): the run page says
 * what changed since the baseline run and lists the run's scenarios failed first, filtered and
 * searched on the server, each opening to its message, score and criteria; the agent's Tests tab
 * lists failing and flaky tests first with their last outcomes as a strip, linking to a test's
 * history across runs. axe-core finds nothing on any of these screens.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, type Dashboard, openDashboard } from './harness.js';

const STEP = 20_000;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary: string }>;
}

interface Run {
  id: string;
  test_run_id: string;
  pass_rate: number;
  changes: {
    baseline_test_run_id: string;
    counts: Record<string, number>;
    pass_rate_delta: number;
  } | null;
}

type Result = Record<string, unknown> & { name: string; status: string };
const P = (name: string, extra: Record<string, unknown> = {}): Result => ({
  name,
  suite: 'triage',
  status: 'passed',
  ...extra,
});
const F = (name: string, message = `${name} broke`): Result => ({
  name,
  suite: 'triage',
  status: 'failed',
  message,
});

describe.skipIf(!chromiumFound)('scenario results in the dashboard (headless Chromium)', () => {
  let h: Dashboard;
  let page: Page;
  let agentId: string;
  const runs: Run[] = [];
  const consoleErrors: string[] = [];

  async function report(results: Result[]): Promise<Run> {
    const failed = results.some((r) => r.status === 'failed' || r.status === 'error');
    return h.rest.post<Run>('/runs', {
      agent_id: agentId,
      name: 'Nightly',
      status: failed ? 'failed' : 'completed',
      results,
    });
  }

  async function axeViolations(): Promise<string[]> {
    await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
    if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate<AxeViolation[]>(
      'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)',
    );
    return violations.flatMap((v) =>
      v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}) at ${n.target.join(' ')}: ${n.failureSummary}`),
    );
  }

  beforeAll(async () => {
    h = await openDashboard({
      stepTimeoutMs: STEP,
      preparePage: (opened) => {
        opened.on('console', (message) => {
          if (message.type() === 'error') consoleErrors.push(message.text());
        });
        opened.on('pageerror', (error) => consoleErrors.push(String(error)));
      },
      signInAt: '/runs',
    });
    page = h.page;

    agentId = (await h.rest.post<{ id: string }>('/agents', { name: 'Triage Bot' })).id;
    // Four runs of one suite: `flipper` alternates, `still` always fails.
    runs.push(await report([P('stays'), P('breaks-later'), F('gets-fixed'), F('still'), P('flipper')]));
    runs.push(
      await report([
        P('stays', { duration_ms: 40 }),
        F('breaks-later', "AssertionError: expected 'ESCALATE', got 'ADVISE'"),
        P('gets-fixed'),
        F('still'),
        P('brand-new'),
        P('retried', { attempts: 2 }),
        P('scored', {
          score: { points_awarded: 3, max_points: 4 },
          criteria: [
            {
              criterion: 'Asks about symptoms',
              decision: 'MET',
              points_awarded: 2,
              max_points: 2,
              rationale: 'asked',
            },
            { criterion: 'Refers to a doctor', decision: 'PARTIAL', points_awarded: 1, max_points: 2 },
          ],
        }),
        { name: 'later', suite: 'triage', status: 'skipped' },
        F('flipper'),
      ]),
    );
    runs.push(await report([P('stays'), F('still'), P('flipper')]));
    runs.push(await report([P('stays'), F('still'), F('flipper', 'flipped again')]));
  }, 90_000);

  afterAll(() => h?.close(), 30_000);

  it('says what changed since the baseline run, linked to it', async () => {
    const run = runs[1]!;
    const changes = run.changes!;
    expect(changes.baseline_test_run_id).toBe(runs[0]!.test_run_id);
    await page.goto(`/runs/${run.id}`);
    const section = page.getByTestId('run-changes');
    await section.getByTestId('changes').waitFor();
    expect(await section.getByRole('heading', { level: 2 }).textContent()).toBe('What changed');
    const link = section.getByTestId('baseline-link');
    expect(await link.textContent()).toBe('TR-00001');
    await expect.poll(() => link.getAttribute('href')).toBe(`/runs/${runs[0]!.id}`);
    // 3 of 5 passed in TR-00001, 5 of 8 (the skipped one aside) in this run.
    expect(run.pass_rate).toBe(62.5);
    expect(await section.getByTestId('changes-summary').textContent()).toBe(
      '2 new failures · 1 fixed · 1 flaky · 1 still failing · pass rate 62.5 % (+2.5)',
    );
    const newFailures = section.getByTestId('changes-new-failures');
    expect(await newFailures.getByTestId('test-name').allTextContents()).toEqual(
      expect.arrayContaining(['breaks-later', 'flipper']),
    );
    expect(await newFailures.textContent()).toContain("AssertionError: expected 'ESCALATE', got 'ADVISE'");
    expect(await section.getByTestId('changes-fixed').getByTestId('test-name').allTextContents()).toEqual([
      'gets-fixed',
    ]);
    const flaky = section.getByTestId('changes-flaky');
    expect(await flaky.getByTestId('test-name').allTextContents()).toEqual(['retried']);
    expect(await flaky.getByTestId('flaky-reason').textContent()).toBe(
      'failed, then passed on a retry in this run',
    );
    const counts = await section.getByTestId('changes-counts').locator('div').allTextContents();
    expect(counts).toEqual(
      expect.arrayContaining([
        `New failures${changes.counts.new_failures}`,
        'Fixed1',
        'Still failing1',
        'Flaky1',
        `New tests${changes.counts.new_tests}`,
        'Missing tests0',
        'Pass rate62.5 % (+2.5 points)',
      ]),
    );
    expect(changes.counts.new_failures).toBe(2);

    // The baseline link opens the baseline run, which itself has none.
    await link.click();
    await page.waitForURL((url) => url.pathname === `/runs/${runs[0]!.id}`);
    await page.getByRole('heading', { level: 1, name: /TR-00001/ }).waitFor();
    expect(await page.getByTestId('changes-none').textContent()).toContain('No baseline');
    expect(await axeViolations()).toEqual([]);
  });

  it('lists the scenarios failed first, filters them by status and change, and searches by name', async () => {
    const run = runs[1]!;
    await page.goto(`/runs/${run.id}`);
    const section = page.getByTestId('run-scenarios');
    await section.getByTestId('scenarios').waitFor();
    expect(await section.getByTestId('scenario-summary').textContent()).toContain(
      '9 scenarios: 5 passed · 3 failed · 0 errors · 1 skipped · 1 flaky',
    );
    // Reported with results, the run's failing tests are in the scenario list, not a second list.
    expect(await page.getByTestId('run-failures').count()).toBe(0);
    const items = section.getByTestId('scenario');
    expect(await items.count()).toBe(9);
    const statuses = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(statuses).toEqual([
      'failed',
      'failed',
      'failed',
      'passed',
      'passed',
      'passed',
      'passed',
      'passed',
      'skipped',
    ]);
    expect(await items.nth(0).getByTestId('test-name').textContent()).toMatch(/breaks-later|still|flipper/);

    // Status filter, from the server.
    await section.getByLabel('Status').selectOption('failed');
    await expect.poll(() => items.count()).toBe(3);
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    expect((await items.getByTestId('test-name').allTextContents()).sort()).toEqual([
      'breaks-later',
      'flipper',
      'still',
    ]);

    // Change filter, combined with the status filter.
    await section.getByLabel('Change').selectOption('new_failure');
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.getByTestId('scenario-change').allTextContents()).toEqual([
      'new failure',
      'new failure',
    ]);
    await section.getByLabel('Status').selectOption('');
    await section.getByLabel('Change').selectOption('fixed');
    await expect.poll(() => items.getByTestId('test-name').allTextContents()).toEqual(['gets-fixed']);

    // Search by part of the name.
    await section.getByLabel('Change').selectOption('');
    await section.getByRole('searchbox', { name: 'Name' }).fill('BRAND');
    await section.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => items.getByTestId('test-name').allTextContents()).toEqual(['brand-new']);
    expect(await items.getByTestId('scenario-change').textContent()).toBe('new test');
    await section.getByRole('searchbox', { name: 'Name' }).fill('nothing like it');
    await section.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => section.locator('.empty').textContent())
      .toBe('No scenario matches these filters.');

    // A shared link keeps the filters.
    await page.goto(`/runs/${run.id}?q=scor`);
    await expect.poll(() => items.getByTestId('test-name').allTextContents()).toEqual(['scored']);
    expect(await section.getByRole('searchbox', { name: 'Name' }).inputValue()).toBe('scor');
    expect(await axeViolations()).toEqual([]);
  });

  it('opens a scenario to its message, score and criteria', async () => {
    const run = runs[1]!;
    await page.goto(`/runs/${run.id}`);
    const section = page.getByTestId('run-scenarios');
    await section.getByTestId('scenarios').waitFor();
    const failed = section.getByTestId('scenario').filter({ hasText: 'breaks-later' });
    expect(await failed.getByTestId('scenario-message').isVisible()).toBe(false);
    await failed.locator('summary').click();
    expect(await failed.getByTestId('scenario-message').textContent()).toBe(
      "AssertionError: expected 'ESCALATE', got 'ADVISE'",
    );
    const scored = section.getByTestId('scenario').filter({ hasText: 'scored' });
    await scored.locator('summary').click();
    expect(await scored.getByTestId('scenario-score').textContent()).toBe('3 of 4 points');
    const criteria = scored.getByTestId('criterion');
    expect(await criteria.count()).toBe(2);
    expect(await criteria.nth(0).locator('td').allTextContents()).toEqual([
      'Asks about symptoms',
      'MET',
      '2 / 2',
      'asked',
    ]);
    expect(await criteria.nth(1).locator('td').allTextContents()).toEqual([
      'Refers to a doctor',
      'PARTIAL',
      '1 / 2',
      '—',
    ]);
    // A passed scenario without anything more to show does not open.
    const plain = section.getByTestId('scenario').filter({ hasText: 'brand-new' });
    expect(await plain.locator('details').count()).toBe(0);
    expect(await axeViolations()).toEqual([]);
  });

  it('keeps the failing-tests list for a run reported without results', async () => {
    const run = await h.rest.post<Run>('/runs', {
      agent_id: agentId,
      name: 'Counts only',
      status: 'failed',
      passed_count: 3,
      failed_count: 1,
      failures: [{ name: 'test_counts_only', message: 'nope' }],
    });
    await page.goto(`/runs/${run.id}`);
    await page.getByTestId('run-failures').getByTestId('failures').waitFor();
    expect(await page.getByTestId('failure-name').allTextContents()).toEqual(['test_counts_only']);
    expect(await page.getByTestId('run-scenarios').count()).toBe(0);
    expect(await page.getByTestId('changes-none').count()).toBe(1);
  });

  it('the Tests tab lists failing and flaky tests first, each with its last outcomes as a strip', async () => {
    await page.goto(`/agents/${agentId}`);
    await page.getByRole('heading', { level: 1, name: 'Triage Bot' }).waitFor();
    await page.getByRole('navigation', { name: 'Agent' }).getByRole('link', { name: 'Tests' }).click();
    await page.waitForURL((url) => url.searchParams.get('tab') === 'tests');
    const section = page.getByTestId('agent-tests');
    const rows = section.getByTestId('test-row');
    await rows.first().waitFor();
    expect(await page.getByTestId('tests-tab').getAttribute('aria-current')).toBe('page');
    const states = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states).toEqual([
      'failing',
      'failing',
      'flaky',
      'flaky',
      'passing',
      'passing',
      'passing',
      'passing',
      'passing',
    ]);
    // Within a state, the test that ran last comes first.
    expect(await rows.getByTestId('test-link').allTextContents()).toEqual(
      expect.arrayContaining(['still', 'breaks-later', 'flipper', 'retried']),
    );
    expect((await rows.getByTestId('test-link').allTextContents()).slice(0, 4)).toEqual([
      'still',
      'breaks-later',
      'flipper',
      'retried',
    ]);

    const flipper = rows.filter({ hasText: 'flipper' });
    const cells = flipper.getByTestId('outcome-strip').locator('.strip-cell');
    // The API gives newest first; the strip reads oldest → newest, left to right.
    expect(await cells.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).toEqual([
      'passed',
      'failed',
      'passed',
      'failed',
    ]);
    expect(await flipper.getByTestId('outcome-strip').locator('.visually-hidden').textContent()).toBe(
      'Last 4 results, oldest to newest: passed, failed, passed, failed',
    );
    // Failures stand out by height, not colour alone.
    const heights = await cells.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    expect(heights[1]).toBeGreaterThan(heights[0]!);
    expect(await flipper.getByTestId('test-fail-rate').textContent()).toContain('50%');
    expect(await flipper.getByTestId('test-flips').textContent()).toBe('3');
    expect(await flipper.getByTestId('test-last-failure').textContent()).toBe('flipped again');
    expect(await axeViolations()).toEqual([]);

    // State filter and search, from the server.
    await section.getByLabel('State').selectOption('flaky');
    await expect.poll(() => rows.getByTestId('test-link').allTextContents()).toEqual(['flipper', 'retried']);
    await section.getByRole('searchbox', { name: 'Name' }).fill('FLIP');
    await section.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => rows.getByTestId('test-link').allTextContents()).toEqual(['flipper']);
    await section.getByLabel('State').selectOption('failing');
    await expect.poll(() => section.locator('.empty').textContent()).toBe('No test matches these filters.');
  });

  it('a test’s history lists its results across runs, newest first, linked to the runs', async () => {
    await page.goto(`/agents/${agentId}?tab=tests&q=flipper`);
    const link = page.getByTestId('test-link').filter({ hasText: 'flipper' });
    await link.click();
    await page.waitForURL((url) => /\/agents\/[^/]+\/tests\/[^/]+$/.test(url.pathname));
    await page.getByRole('heading', { level: 1, name: /flipper/ }).waitFor();
    const rows = page.getByTestId('history-row');
    await rows.first().waitFor();
    expect(await rows.getByTestId('history-run').allTextContents()).toEqual([
      'TR-00004',
      'TR-00003',
      'TR-00002',
      'TR-00001',
    ]);
    expect(await rows.getByTestId('history-status').allTextContents()).toEqual([
      'failed',
      'passed',
      'failed',
      'passed',
    ]);
    expect(await rows.nth(0).textContent()).toContain('flipped again');
    expect(await page.getByTestId('history-flips').textContent()).toBe('3');
    expect(await page.getByTestId('outcome-strip').locator('.strip-cell').count()).toBe(4);
    expect(await axeViolations()).toEqual([]);

    await rows.getByTestId('history-run').first().click();
    await page.waitForURL((url) => url.pathname === `/runs/${runs[3]!.id}`);
    await page.getByRole('heading', { level: 1, name: /TR-00004/ }).waitFor();
    expect(consoleErrors).toEqual([]);
  });
});
