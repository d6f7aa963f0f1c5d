import { Migrator, sql } from 'kysely';
import { isMigrated, migrationProvider } from './migrations/index.js';
import * as agents from './ops/agents.js';
import * as alerts from './ops/alerts.js';
import { readAttemptFeed } from './ops/attemptFeed.js';
import { claimDueDeliveries } from './ops/claimDueDeliveries.js';
import type { Ctx } from './ops/context.js';
import * as deliveries from './ops/deliveries.js';
import { createFinishedRun, finishRun } from './ops/finishRun.js';
import * as health from './ops/health.js';
import * as idempotency from './ops/idempotency.js';
import { extendLeases, releaseLeases } from './ops/leases.js';
import * as orgs from './ops/orgs.js';
import { countPending } from './ops/pendingDeliveries.js';
import * as probes from './ops/probes.js';
import * as readResults from './ops/readResults.js';
import { recordResults } from './ops/recordResults.js';
import * as recover from './ops/recover.js';
import * as retention from './ops/retention.js';
import * as runGroups from './ops/runGroups.js';
import * as runProgress from './ops/runProgress.js';
import * as runs from './ops/runs.js';
import * as scenarioResults from './ops/scenarioResults.js';
import * as stats from './ops/stats.js';
import * as testSuites from './ops/testSuites.js';
import * as webhooks from './ops/webhooks.js';
import type { Store } from './store.js';

type Args<F> = F extends (ctx: Ctx, ...args: infer A) => unknown ? A : never;

/** How long migrate keeps retrying Kysely's bookkeeping before a migration runs (see migrate). */
const MIGRATE_SETUP_RETRY_MS = 30_000;

/** The Store, over Kysely; sqlite/ and postgres/ supply the connection and the DialectHooks. */
export function createKyselyStore(ctx: Ctx): Store {
  const bind =
    <F extends (ctx: Ctx, ...args: never[]) => unknown>(fn: F) =>
    (...args: Args<F>) =>
      (fn as (ctx: Ctx, ...a: Args<F>) => ReturnType<F>)(ctx, ...args);

  return {
    dialect: ctx.hooks.dialect,
    async migrate() {
      // On PostgreSQL, Kysely would look for its bookkeeping tables in any schema unless told which:
      // pin them to the schema this connection works in (search_path), so databases holding several
      // Runhook schemas (or other Kysely users) cannot confuse one another.
      const migrationTableSchema =
        ctx.hooks.dialect === 'postgres'
          ? (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(ctx.db)).rows[0]?.schema
          : undefined;
      if (await isMigrated(ctx.db, migrationTableSchema)) return;
      const migrator = new Migrator({
        db: ctx.db,
        provider: migrationProvider,
        ...(migrationTableSchema ? { migrationTableSchema } : {}),
      });
      const deadline = Date.now() + MIGRATE_SETUP_RETRY_MS;
      for (let attempt = 1; ; attempt++) {
        const { error, results } = await migrator.migrateToLatest();
        if (!error) return;
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        // Before any migration runs, Kysely reads the catalog of every schema (its introspector
        // calls pg_get_serial_sequence on each table), which fails while another client drops a
        // schema or table (3F000, 42P01). Nothing was written then; reading again finds the
        // catalog settled. Any other error (no server, no permission) is reported at once.
        const code = (error as { code?: unknown }).code;
        const raced = code === '3F000' || code === '42P01';
        if (failed === undefined && raced && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(500, 25 * attempt)));
          continue;
        }
        throw new Error(`migration ${failed ?? 'setup'} failed: ${(error as Error).message ?? error}`);
      }
    },
    async ping() {
      await sql`SELECT 1`.execute(ctx.db);
    },
    async close() {
      await ctx.hooks.close();
      await ctx.db.destroy();
    },
    countOrganizations: bind(orgs.countOrganizations),
    createOrganization: bind(orgs.createOrganization),
    findApiKey: bind(orgs.findApiKey),
    touchApiKey: bind(orgs.touchApiKey),
    createApiKey: bind(orgs.createApiKey),
    listApiKeys: bind(orgs.listApiKeys),
    revokeApiKey: bind(orgs.revokeApiKey),
    listOrganizations: bind(orgs.listOrganizations),
    findOrganizations: bind(orgs.findOrganizations),
    listAllApiKeys: bind(orgs.listAllApiKeys),
    createAgent: bind(agents.createAgent),
    listAgents: bind(agents.listAgents),
    getAgent: bind(agents.getAgent),
    getAgentConfig: bind(agents.getAgentConfig),
    updateAgent: bind(agents.updateAgent),
    deleteAgent: bind(agents.deleteAgent),
    createRun: bind(runs.createRun),
    createFinishedRun: bind(createFinishedRun),
    finishRun: bind(finishRun),
    getRun: bind(runs.getRun),
    addRunResults: bind(scenarioResults.addRunResults),
    listScenarioRuns: bind(readResults.listScenarioRuns),
    getScenarioRun: bind(readResults.getScenarioRun),
    summarizeResults: bind(readResults.summarizeResults),
    listAgentTests: bind(readResults.listAgentTests),
    getAgentTest: bind(readResults.getAgentTest),
    testHistory: bind(readResults.testHistory),
    getRunBySeq: bind(runs.getRunBySeq),
    listRuns: bind(runs.listRuns),
    markRunGrading: bind(runProgress.markRunGrading),
    createTestSuite: bind(testSuites.createTestSuite),
    listTestSuites: bind(testSuites.listTestSuites),
    getTestSuite: bind(testSuites.getTestSuite),
    updateTestSuite: bind(testSuites.updateTestSuite),
    deleteTestSuite: bind(testSuites.deleteTestSuite),
    testSuiteNames: bind(testSuites.testSuiteNames),
    createWebhook: bind(webhooks.createWebhook),
    listWebhooks: bind(webhooks.listWebhooks),
    getWebhook: bind(webhooks.getWebhook),
    findWebhook: bind(webhooks.findWebhook),
    updateWebhook: bind(webhooks.updateWebhook),
    deleteWebhook: bind(webhooks.deleteWebhook),
    webhookStats: bind(stats.webhookStats),
    recoverDeliveries: bind(recover.recoverDeliveries),
    listDeliveries: bind(deliveries.listDeliveries),
    getDelivery: bind(deliveries.getDelivery),
    redeliver: bind(deliveries.redeliver),
    createTestDelivery: bind(deliveries.createTestDelivery),
    claimDueDeliveries: bind(claimDueDeliveries),
    extendLeases: bind(extendLeases),
    releaseLeases: bind(releaseLeases),
    recordResults: bind(recordResults),
    countPending: bind(countPending),
    onNewWork: (listener) => ctx.hooks.onNewWork(listener),
    readAttemptFeed: bind(readAttemptFeed),
    onAttemptsRecorded: (listener) => ctx.hooks.onAttempts(listener),
    takeHandoffs(taker) {
      const slot = ctx.handoff ?? { taker: null };
      ctx.handoff = slot;
      slot.taker = taker;
      return () => {
        if (slot.taker === taker) slot.taker = null;
      };
    },
    withRetentionLock: (sweep) => retention.withRetentionLock(ctx, sweep),
    pruneExpired: bind(retention.pruneExpired),
    pruneExpiredResults: bind(retention.pruneExpiredResults),
    completeDueGroups: bind(runGroups.completeDueGroups),
    releaseFreePages: bind(retention.releaseFreePages),
    storeStats: bind(retention.storeStats),
    claimIdempotencyKey: bind(idempotency.claimIdempotencyKey),
    completeIdempotencyKey: bind(idempotency.completeIdempotencyKey),
    releaseIdempotencyKey: bind(idempotency.releaseIdempotencyKey),
    pruneIdempotencyKeys: bind(idempotency.pruneIdempotencyKeys),
    reconcileHealth: bind(health.reconcileHealth),
    dueProbes: bind(probes.dueProbes),
    startProbe: bind(probes.startProbe),
    reenableAfterProbe: bind(probes.reenableAfterProbe),
    claimDueAlerts: bind(alerts.claimDueAlerts),
    recordAlertAttempt: bind(alerts.recordAlertAttempt),
    nextAlertDueAt: bind(alerts.nextAlertDueAt),
    pruneAlerts: bind(alerts.pruneAlerts),
    countDisabledWebhooks: bind(health.countDisabledWebhooks),
  };
}
