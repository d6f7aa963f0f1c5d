/**
 * The caps hold across concurrent claims (docs/delivery.md, RUNHOOK_WEBHOOK_CONCURRENCY and
 * RUNHOOK_ORG_CONCURRENCY), on a real database of each backend. Two workers claim at the same
 * moment: both plans see nothing in flight, so each would take the whole cap; the lease step,
 * under the claim lock, counts what the other has leased by then and keeps the total within the
 * caps, across all the organization's webhooks. On PostgreSQL that is one statement for all
 * webhooks of a claim (claimDueDeliveries.ts, leaseAllStatement); on SQLite one per webhook.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { WEBHOOK_LOCK } from '../../src/store/postgres/openPostgres.js';
import type { ClaimedDelivery, Store } from '../../src/store/store.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { finishRun, storeWithWebhooks } from './support.js';

for (const backend of backends) {
  describe(`claim caps under concurrent claims [${backend.name}]`, () => {
    let tdb: TestDatabase;
    let store: Store;
    afterEach(async () => {
      await store?.close();
      await tdb?.drop();
    });

    /** One organization with `webhooks` webhooks, each with `runs` finished runs (due deliveries). */
    async function backlog(webhooks: number, runs: number): Promise<number> {
      const f = await storeWithWebhooks(backend, webhooks);
      ({ tdb, store } = f);
      const now = Date.now();
      for (const agentId of f.agents) {
        for (let r = 0; r < runs; r++) await finishRun(store, f.orgId, agentId, now, `run ${r}`);
      }
      return Date.now() + 1;
    }

    const claimBoth = (now: number, caps: { perWebhookCap: number; perOrgCap: number }) => {
      const claim = (workerId: string) =>
        store.claimDueDeliveries({ workerId, now, limit: 100, leaseMs: 30_000, ...caps });
      return Promise.all([claim('worker-a'), claim('worker-b')]);
    };

    const perWebhook = (deliveries: ClaimedDelivery[]) => {
      const counts = new Map<string, number>();
      for (const d of deliveries) counts.set(d.webhookId, (counts.get(d.webhookId) ?? 0) + 1);
      return [...counts.values()].sort();
    };

    it("the organization's cap, across its webhooks and both claims", async () => {
      const now = await backlog(3, 4);
      const [a, b] = await claimBoth(now, { perWebhookCap: 8, perOrgCap: 5 });
      const all = [...a.deliveries, ...b.deliveries];
      expect(all).toHaveLength(5);
      expect(new Set(all.map((d) => d.deliveryId)).size).toBe(5);
      // Shared across the webhooks, not all from the first one.
      expect(perWebhook(all).length).toBeGreaterThan(1);
    });

    it("a webhook's cap, across both claims, in due order", async () => {
      const now = await backlog(1, 10);
      const [a, b] = await claimBoth(now, { perWebhookCap: 3, perOrgCap: 32 });
      const all = [...a.deliveries, ...b.deliveries];
      expect(all).toHaveLength(3);
      // The second claim finds the webhook at its cap: it takes nothing rather than the next ones.
      expect([a.deliveries.length, b.deliveries.length].sort()).toEqual([0, 3]);
    });

    it('leasing ahead: past the cap only for a webhook no other worker holds, and the others counted', async () => {
      const now = await backlog(1, 20);
      const claim = (workerId: string) =>
        store.claimDueDeliveries({
          workerId,
          now,
          limit: 64,
          leaseMs: 30_000,
          perWebhookCap: 3,
          perOrgCap: 32,
          prefetch: { perWebhook: 6, room: 64, queued: new Map() },
        });
      const [a, b] = await Promise.all([claim('worker-a'), claim('worker-b')]);
      // The first to lease takes its cap and six ahead; the second finds the webhook held by it:
      // nothing ahead, and no room.
      expect([a.deliveries.length, b.deliveries.length].sort((x, y) => x - y)).toEqual([0, 9]);
      const [first, second] = a.deliveries.length > 0 ? [a, b] : [b, a];
      const webhookId = first.deliveries[0]?.webhookId as string;
      expect(first.othersLeased?.webhooks.get(webhookId) ?? 0).toBe(0);
      // Counted by the other worker: all nine, held ahead or not. Its concurrent claim counted
      // only if it planned to lease ahead (docs/architecture.md#leasing-ahead), so it counts
      // again, holding one ahead as a worker that needs the count would, and still leases nothing.
      const recount = await store.claimDueDeliveries({
        workerId: second === a ? 'worker-a' : 'worker-b',
        now,
        limit: 64,
        leaseMs: 30_000,
        perWebhookCap: 3,
        perOrgCap: 32,
        prefetch: { perWebhook: 6, room: 64, queued: new Map([[webhookId, 1]]) },
      });
      expect(recount.deliveries).toHaveLength(0);
      expect(recount.othersLeased?.webhooks.get(webhookId)).toBe(9);
      // Without another holder, a second claim of the first worker adds only up to its queue's room.
      const again = await store.claimDueDeliveries({
        workerId: first === a ? 'worker-a' : 'worker-b',
        now: now + 1,
        limit: 64,
        leaseMs: 30_000,
        perWebhookCap: 3,
        perOrgCap: 32,
        idleIds: first.deliveries.map((d) => d.deliveryId),
        prefetch: { perWebhook: 6, room: 64, queued: new Map([[webhookId, 4]]) },
      });
      // Its nine are idle (as if settled or queued): room 3, and 6 - 4 = 2 more ahead.
      expect(again.deliveries).toHaveLength(5);
    });

    if (backend.name === 'postgres') {
      /** Another transaction holding the webhook's claim lock for `ms`, then committing. */
      async function holdWebhookLock(ms: number): Promise<() => Promise<void>> {
        const holder = new pg.Client({ connectionString: tdb.url });
        await holder.connect();
        const { rows } = await holder.query<{ id: string }>('SELECT id FROM webhooks');
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock(${WEBHOOK_LOCK}, hashtext($1))`, [rows[0]?.id]);
        const released = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(async () => {
          await holder.query('COMMIT');
          await holder.end();
        });
        return () => released;
      }

      /** One claim of worker-a with room for every delivery of these tests. */
      const claimAsA = (now: number) =>
        store.claimDueDeliveries({
          workerId: 'worker-a',
          now,
          limit: 10,
          leaseMs: 30_000,
          perWebhookCap: 8,
          perOrgCap: 32,
        });

      it("waits for another claim's lock on its webhook instead of coming back empty", async () => {
        const now = await backlog(1, 4);
        const release = await holdWebhookLock(100);
        const started = Date.now();
        const claim = await claimAsA(now);
        await release();
        expect(Date.now() - started).toBeGreaterThanOrEqual(90);
        expect(claim.deliveries).toHaveLength(4);
        expect(claim.missed).toBeFalsy();
      });

      it('comes back empty and missed when the lock is held past the wait', async () => {
        const now = await backlog(1, 2);
        const release = await holdWebhookLock(1_000);
        const claim = await claimAsA(now);
        await release();
        expect(claim.deliveries).toHaveLength(0);
        expect(claim.missed).toBe(true);
        expect(claim.leftOver).toBe(true);
        // Nothing was leased meanwhile: the next claim takes both.
        const again = await claimAsA(now);
        expect(again.deliveries).toHaveLength(2);
      });
    }
  });
}
