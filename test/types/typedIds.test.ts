/**
 * Ids of different kinds cannot stand for each other at the store's interface
 * (docs/architecture.md#typed-ids). The `@ts-expect-error` lines are checked when the tests compile
 * (`npm test` builds first, `npm run lint` type-checks): if a swap below compiled, the directive
 * would be unused and the build would fail. The assertions run the same calls on a real store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentId, DeliveryId, OrgId, WebhookId, WorkerId } from '../../src/domain/ids.js';
import type { Store } from '../../src/store/store.js';
import { backends } from '../helpers/backends.js';
import { type StoreFixture, storeWithWebhooks } from '../store/support.js';

/** Calls that must not compile, each with a wrong kind of id; never run. */
function swapsThatMustNotCompile(
  store: Store,
  ids: {
    org: OrgId;
    agent: AgentId;
    webhook: WebhookId;
    delivery: DeliveryId;
    worker: WorkerId;
  },
): void {
  // @ts-expect-error a delivery's id where the worker's is expected, and the other way round
  void store.releaseLeases(ids.delivery, [ids.worker]);
  // @ts-expect-error a webhook's id where an organization's is expected
  void store.getWebhook(ids.webhook, ids.webhook);
  // @ts-expect-error an agent's id where a webhook's is expected
  void store.getWebhook(ids.org, ids.agent);
  // @ts-expect-error a webhook's id where a delivery's is expected
  void store.redeliver(ids.org, ids.webhook, 0);
  // @ts-expect-error an organization's id where an agent's is expected
  void store.getAgent(ids.org, ids.org);
}

// Compiled, never called: the swaps above are checked by the compiler, not at run time.
void swapsThatMustNotCompile;

describe('typed ids at the store interface', () => {
  let fixture: StoreFixture | undefined;
  afterAll(async () => {
    await fixture?.store.close();
    await fixture?.tdb.drop();
  });

  it('ids from the store flow back into it as their own kind, and plain strings are still accepted', async () => {
    fixture = await storeWithWebhooks(backends[0]!, 1);
    const { store, orgId } = fixture;
    const [webhook] = (await store.listWebhooks(orgId, {}, { limit: 10, offset: 0 })).items;
    expect(webhook).toBeDefined();
    const found = await store.getWebhook(orgId, webhook!.id);
    expect(found?.id).toBe(webhook!.id);
    const plain: string = webhook!.id;
    expect((await store.getWebhook(orgId, plain))?.id).toBe(webhook!.id);
    expect(await store.getWebhook(orgId, crypto.randomUUID())).toBeNull();
  });
});
