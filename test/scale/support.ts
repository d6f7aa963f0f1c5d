/**
 * Shared by the scale-out suites (test/scale only): several Runhook processes on one PostgreSQL
 * schema. These suites need PostgreSQL: with CI=true a missing one fails the file at load time,
 * never skips it; elsewhere they are skipped and test/globalSetup.ts has already said so loudly.
 */
import pg from 'pg';
import { expect } from 'vitest';
import { generateApiKey, newApiKeyRecord } from '../../src/security/apiKeys.js';
import { type Backend, postgresBackend } from '../helpers/backends.js';
import { runCli, type Spawned } from '../helpers/cli.js';
import { eventually, TEST_ENV, type TestContext } from '../helpers/context.js';
import type { Receiver } from '../helpers/receiver.js';

function requirePostgres(): Backend | null {
  if (postgresBackend) return postgresBackend;
  if (process.env.CI === 'true') {
    throw new Error(
      'test/scale runs several Runhook processes on one PostgreSQL database and CI=true, but ' +
        'PostgreSQL was not found (see test/globalSetup.ts): these tests must run in CI, not skip',
    );
  }
  process.stderr.write('!! test/scale SKIPPED: PostgreSQL is not reachable (these tests need it)\n');
  return null;
}

export const scaleBackend = requirePostgres();

/** The per-webhook cap every process of these suites runs with. */
export const WEBHOOK_CAP = 4;

/** What every Runhook process of these suites runs with, besides its database URL. */
export const PROCESS_ENV: Record<string, string> = {
  ...TEST_ENV,
  RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
  RUNHOOK_RETRY_SCHEDULE: '50ms,50ms,50ms',
  RUNHOOK_RETRY_JITTER: '0',
  RUNHOOK_CLAIM_LEASE: '1s',
  RUNHOOK_WEBHOOK_CONCURRENCY: String(WEBHOOK_CAP),
  RUNHOOK_LOG_LEVEL: 'warn',
};

/** Child processes of one test, killed (SIGKILL) and awaited by `killAll`. */
export class Processes {
  readonly all: Spawned[] = [];

  start(args: string[], env: Record<string, string>): Spawned {
    const p = runCli(args, { ...PROCESS_ENV, ...env });
    this.all.push(p);
    return p;
  }

  async killAll(): Promise<void> {
    for (const p of this.all.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
  }
}

/** A plain pg client on the test schema, for checks the API does not answer directly. */
export async function sqlClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

export interface Tenant {
  orgId: string;
  agentId: string;
  webhookId: string;
  receiver: Receiver;
}

/**
 * One organization per receiver, each with an agent whose own webhook points at that receiver.
 * Separate organizations let the test finish runs in parallel (an organization numbers its runs
 * under one row lock, so its runs are created one at a time).
 */
export async function createTenants(ctx: TestContext, receivers: Receiver[]): Promise<Tenant[]> {
  const now = Date.now();
  return Promise.all(
    receivers.map(async (receiver, i) => {
      const org = await ctx.rt.store.createOrganization(
        `scale ${i}`,
        newApiKeyRecord(generateApiKey(), 'scale', null),
        now,
      );
      const agent = await ctx.rt.store.createAgent(
        org.id,
        { name: `agent ${i}`, description: '', provider: null, isActive: true },
        now,
      );
      const webhook = await ctx.rt.store.createWebhook(
        org.id,
        {
          agentId: agent.id,
          url: receiver.url,
          description: `receiver ${i}`,
          isEnabled: true,
          format: 'standard',
          headers: {},
          secretEnc: ctx.rt.secretBox.seal(
            `whsec_${Buffer.from(`scale-secret-${i}-0123456789`).toString('base64')}`,
          ),
        },
        now,
      );
      return { orgId: org.id, agentId: agent.id, webhookId: webhook.id, receiver };
    }),
  );
}

/**
 * Finishes `total` runs, spread evenly over the tenants, through the store (the same transaction
 * the API uses: run, event and delivery together). One sequence per organization, in parallel.
 */
export async function finishRuns(ctx: TestContext, tenants: Tenant[], total: number): Promise<void> {
  await Promise.all(
    tenants.map(async (t, i) => {
      const share = Math.floor(total / tenants.length) + (i < total % tenants.length ? 1 : 0);
      for (let n = 0; n < share; n++) {
        const now = Date.now();
        await ctx.rt.store.createFinishedRun(
          t.orgId,
          { agentId: t.agentId, name: `scale run ${n}`, totalScenarios: null, startedAt: null },
          {
            status: 'completed',
            passedCount: 1,
            failedCount: 0,
            errorCount: 0,
            totalScenarios: null,
            completedAt: now,
          },
          ctx.config.publicUrl,
          now,
        );
      }
    }),
  );
}

/** Requests per `webhook-id` (the event id) over all receivers. */
export function hitsPerEvent(receivers: Receiver[]): Map<string, number> {
  const hits = new Map<string, number>();
  for (const r of receivers) {
    for (const req of r.requests) {
      const id = String(req.headers['webhook-id']);
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
  }
  return hits;
}

/** Delivery states and attempt count, straight from the database. */
export async function deliveryCounts(
  client: pg.Client,
): Promise<{ succeeded: number; pending: number; failed: number; attempts: number; events: number }> {
  const byStatus = await client.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM deliveries GROUP BY status',
  );
  const n = (s: string) => byStatus.rows.find((r) => r.status === s)?.n ?? 0;
  const attempts = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts');
  const events = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
  return {
    succeeded: n('succeeded'),
    pending: n('pending'),
    failed: n('failed'),
    attempts: attempts.rows[0]?.n ?? 0,
    events: events.rows[0]?.n ?? 0,
  };
}

/** Waits until no delivery is pending and `total` have succeeded. */
export async function allSucceeded(client: pg.Client, total: number, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const c = await deliveryCounts(client);
      return c.pending === 0 && c.succeeded + c.failed >= total;
    },
    timeoutMs,
    `${total} deliveries to finish`,
  );
  const c = await deliveryCounts(client);
  expect(c).toMatchObject({ succeeded: total, failed: 0, pending: 0 });
}

/** How many `delivery attempt` log lines a worker process printed (RUNHOOK_LOG_LEVEL=debug: successes are debug lines). */
export function attemptsLogged(p: Spawned): number {
  return p
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"delivery attempt"')).length;
}
