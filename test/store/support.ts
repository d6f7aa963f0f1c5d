/**
 * Setup shared by the store suites that work below the API: a migrated store on a fresh database
 * of one backend, an organization with one agent and webhook per receiver path, finished runs.
 */
import { parseDatabaseUrl } from '../../src/config.js';
import { openStore } from '../../src/store/openStore.js';
import type { Store } from '../../src/store/store.js';
import type { Backend, TestDatabase } from '../helpers/backends.js';

export interface StoreFixture {
  tdb: TestDatabase;
  store: Store;
  orgId: string;
  /** One agent per webhook, in order; webhook i sends to http://127.0.0.1:9/hook{i}. */
  agents: string[];
}

/** A migrated store with one organization and `webhooks` agents, each with its own webhook. */
export async function storeWithWebhooks(
  backend: Backend,
  webhooks: number,
  webhook: { headers?: Record<string, string> } = {},
): Promise<StoreFixture> {
  const tdb = await backend.createMigrated();
  const store = await openStore(parseDatabaseUrl(tdb.url));
  await store.migrate();
  const now = Date.now();
  const org = await store.createOrganization(
    'org',
    {
      id: crypto.randomUUID(),
      name: 'key',
      keyHash: `h${Math.random()}`,
      prefix: 'rh_test',
      expiresAt: null,
    },
    now,
  );
  const agents: string[] = [];
  for (let i = 0; i < webhooks; i++) {
    const agent = await store.createAgent(
      org.id,
      { name: `agent ${i}`, description: '', provider: null, isActive: true },
      now,
    );
    await store.createWebhook(
      org.id,
      {
        agentId: agent.id,
        url: `http://127.0.0.1:9/hook${i}`,
        description: '',
        isEnabled: true,
        format: 'standard',
        headers: webhook.headers ?? {},
        secretEnc: null,
      },
      now,
    );
    agents.push(agent.id);
  }
  return { tdb, store, orgId: org.id, agents };
}

/** A run of `agentId` created already finished (completed, one scenario passed): one due delivery. */
export function finishRun(store: Store, orgId: string, agentId: string, now = Date.now(), name = 'run') {
  return store.createFinishedRun(
    orgId,
    { agentId, name, totalScenarios: 1, startedAt: null },
    {
      status: 'completed',
      passedCount: 1,
      failedCount: 0,
      errorCount: 0,
      completedAt: now,
      totalScenarios: 1,
    },
    'http://runhook.test',
    now,
  );
}
