/**
 * Regenerates docs/screenshots/*.png from a real server with seeded data:
 * `npm run screenshots` (builds first). Not a test; the browser test is dashboard.test.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  type Harness,
  newLaptopContext,
  repoRoot,
  startHarness,
  trackRequests,
  waitFor,
  waitForQuiet,
} from './harness.js';

interface Agent {
  id: string;
  name: string;
}
interface Webhook {
  id: string;
}
interface Delivery {
  id: string;
  status: string;
  attempt_count: number;
}

const RUNS: {
  agent: number;
  name: string;
  passed: number;
  failed: number;
  errors: number;
  status?: string;
}[] = [
  { agent: 0, name: 'Emergency Response Test', passed: 17, failed: 3, errors: 0 },
  { agent: 1, name: 'Checkout happy path', passed: 24, failed: 0, errors: 0 },
  { agent: 2, name: 'Escalation to a human', passed: 8, failed: 1, errors: 1 },
  { agent: 0, name: 'Medication refill flow', passed: 12, failed: 0, errors: 0 },
  { agent: 1, name: 'Payment edge cases', passed: 9, failed: 5, errors: 2, status: 'failed' },
  { agent: 2, name: 'Nightly regression', passed: 40, failed: 2, errors: 0 },
];

async function seed(h: Harness) {
  const { rest, receiver } = h;
  await rest.post('/webhooks', {
    url: receiver.url('/hooks/org'),
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'Posts results to the QA channel relay',
    headers: { 'X-Team': 'quality', Authorization: 'Bearer relay-token' },
  });
  const agents: Agent[] = [];
  for (const [name, provider, description] of [
    ['Healthcare Assistant', 'openai', 'Triage and appointment bot'],
    ['Checkout Bot', 'retell', 'Answers payment and order questions'],
    ['Support Triage', 'vapi', 'Voice agent for first-line support'],
  ] as const) {
    agents.push(await rest.post<Agent>('/agents', { name, provider, description }));
  }
  const healthHook = await rest.post<Webhook>('/webhooks', {
    url: receiver.url('/hooks/healthcare'),
    agent_id: agents[0]!.id,
    format: 'standard',
    secret: 'a-long-shared-secret',
    description: 'Healthcare team CI trigger',
    headers: { 'X-Env': 'staging' },
  });

  for (const [index, run] of RUNS.entries()) {
    // The payment run meets a broken receiver: both its attempts fail.
    receiver.setMode(index === 4 ? 'fail' : 'ok');
    await rest.post('/runs', {
      agent_id: agents[run.agent]!.id,
      name: run.name,
      status: run.status ?? 'completed',
      passed_count: run.passed,
      failed_count: run.failed,
      error_count: run.errors,
    });
    await waitFor('deliveries to settle', async () => {
      const pending = await rest.get<{ total: number }>('/deliveries?status=pending&limit=1');
      return pending.total === 0;
    });
  }
  receiver.setMode('ok');
  // A still-running run, for the list.
  await rest.post('/runs', { agent_id: agents[1]!.id, name: 'Refund conversations' });

  // The failed delivery gets a successful manual redelivery: three attempts to show.
  const failed = await rest.get<{ deliveries: Delivery[] }>('/deliveries?status=failed');
  const broken = failed.deliveries[0]!;
  await rest.post(`/deliveries/${broken.id}/redeliver`);
  await waitFor('the redelivery', async () => {
    const detail = await rest.get<Delivery & { attempts: unknown[] }>(`/deliveries/${broken.id}`);
    return detail.attempts.length > broken.attempt_count;
  });
  await rest.post(`/webhooks/${healthHook.id}/test`);
  return { agents, broken };
}

async function settle(page: Page) {
  await waitForQuiet(page);
  await page.waitForFunction("!document.querySelector('.loading')");
}

async function main() {
  const out = join(repoRoot(), 'docs/screenshots');
  mkdirSync(out, { recursive: true });
  const h = await startHarness();
  try {
    const { agents, broken } = await seed(h);
    const context = await newLaptopContext(h.browser, h.server.baseUrl);
    const page = await context.newPage();
    trackRequests(page);
    await page.goto('/login');
    await page.getByLabel('API key').fill(h.server.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/');

    const shoot = async (path: string, file: string, prepare?: () => Promise<void>) => {
      await page.goto(path);
      await settle(page);
      await prepare?.();
      await settle(page);
      // A full-page capture scrolls the page, which would catch the sticky sidebar mid-way.
      // Set through the CSSOM: the server's Content-Security-Policy refuses an injected <style>.
      await page.evaluate(
        "document.querySelectorAll('.sidebar').forEach((e) => { e.style.position = 'static'; })",
      );
      await page.screenshot({ path: join(out, file), fullPage: true });
      console.log(`docs/screenshots/${file}`);
    };

    await shoot('/settings/webhooks', 'settings-webhooks.png', async () => {
      await page.getByRole('button', { name: 'Test Webhook' }).click();
      await page.getByTestId('test-result').waitFor();
    });
    await shoot(`/agents/${agents[0]!.id}`, 'agent.png');
    await shoot('/runs', 'runs.png');
    await shoot('/deliveries', 'deliveries.png');
    await shoot(`/deliveries/${broken.id}`, 'delivery.png');
    await shoot('/', 'overview.png');
    await context.close();
  } finally {
    await h.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
