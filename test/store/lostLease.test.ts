/**
 * Lost attempts (docs/delivery.md#leases-and-at-least-once), on a real database of each backend: a
 * lease that ran out while it still names its owner is logged once as `worker_lost` and cleared by
 * the next claim; a lease its owner renews while that claim is looking at it stays with its owner,
 * with nothing logged. On PostgreSQL the renewal is a concurrent transaction that commits between
 * the claim's read and its write: the lost attempt must not be logged from the stale read.
 *
 * A lease need not run out when its owner is gone: on PostgreSQL a worker whose session lock is free
 * (its store closed, as a killed process's connection does), on SQLite any owner that is not a
 * worker of this process, at the new process's first claim (a restarted `serve`).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/config.js';
import { openStore } from '../../src/store/openStore.js';
import type { Store } from '../../src/store/store.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { finishRun, storeWithWebhooks } from './support.js';

const CLAIM = { limit: 10, leaseMs: 1_000, perWebhookCap: 8, perOrgCap: 32 };

for (const backend of backends) {
  describe(`lost leases [${backend.name}]`, () => {
    let tdb: TestDatabase;
    let store: Store;
    afterEach(async () => {
      await store?.close();
      await tdb?.drop();
    });

    /** One finished run whose delivery is claimed by `dead`, its lease already run out. */
    async function leasedAndExpired(): Promise<{ orgId: string; deliveryId: string; expiredAt: number }> {
      const f = await storeWithWebhooks(backend, 1);
      ({ tdb, store } = f);
      const now = Date.now();
      await finishRun(store, f.orgId, f.agents[0] as string, now);
      const claim = await store.claimDueDeliveries({ workerId: 'dead', now, ...CLAIM });
      expect(claim.deliveries).toHaveLength(1);
      return {
        orgId: f.orgId,
        deliveryId: claim.deliveries[0]?.deliveryId as string,
        expiredAt: now + CLAIM.leaseMs,
      };
    }

    /** The delivery's attempt count and its attempts' error classes, as the API shows them. */
    async function history(orgId: string, id: string) {
      const d = await store.getDelivery(orgId, id);
      return { count: d?.delivery.attemptCount, classes: d?.attempts.map((a) => a.errorClass) };
    }

    it("a gone worker's live lease is lost at once; a live worker's is not", async () => {
      const f = await storeWithWebhooks(backend, 2);
      ({ tdb, store } = f);
      const now = Date.now();
      const lease = { ...CLAIM, leaseMs: 60_000 };
      // Two earlier processes: one stays (its store open), one is gone (its store closed).
      const alive = await openStore(parseDatabaseUrl(tdb.url));
      const gone = await openStore(parseDatabaseUrl(tdb.url));
      try {
        await finishRun(store, f.orgId, f.agents[0] as string, now);
        const held = await alive.claimDueDeliveries({ workerId: 'alive:1:a:s', now, ...lease });
        await finishRun(store, f.orgId, f.agents[1] as string, now);
        const lost = await gone.claimDueDeliveries({ workerId: 'gone:2:b:s', now, ...lease });
        expect([held.deliveries.length, lost.deliveries.length]).toEqual([1, 1]);
        await gone.close();
        // Long before either lease runs out. On SQLite the store in this process stands for the
        // restarted one: only its own workers are known to it, so both earlier leases are lost.
        const next = await store.claimDueDeliveries({ workerId: 'next:3:c:s', now: now + 10, ...lease });
        const lostId = lost.deliveries[0]?.deliveryId as string;
        const heldId = held.deliveries[0]?.deliveryId as string;
        expect(await history(f.orgId, lostId)).toEqual({ count: 1, classes: ['worker_lost'] });
        const stillHeld = backend.name === 'postgres';
        expect(await history(f.orgId, heldId)).toEqual(
          stillHeld ? { count: 0, classes: [] } : { count: 1, classes: ['worker_lost'] },
        );
        // Handed out again in the claim after the one that logged them.
        const again = await store.claimDueDeliveries({ workerId: 'next:3:c:s', now: now + 20, ...lease });
        const handedOut = [...next.deliveries, ...again.deliveries].map((d) => d.deliveryId).sort();
        expect(handedOut).toEqual(stillHeld ? [lostId] : [heldId, lostId].sort());
      } finally {
        await alive.close();
        await gone.close().catch(() => {});
      }
    });

    it('an expired lease is logged once as worker_lost, then handed out again', async () => {
      const { orgId, deliveryId, expiredAt } = await leasedAndExpired();
      const later = expiredAt + 1;
      const first = await store.claimDueDeliveries({ workerId: 'next', now: later, ...CLAIM });
      const second = await store.claimDueDeliveries({ workerId: 'third', now: later + 1, ...CLAIM });
      const handedOut = [...first.deliveries, ...second.deliveries].map((d) => d.deliveryId);
      expect(handedOut).toEqual([deliveryId]);
      expect(await history(orgId, deliveryId)).toEqual({ count: 1, classes: ['worker_lost'] });
    });

    it("a stalled owner's result, after its lease was declared lost, is discarded: attempt and outcome", async () => {
      const { orgId, deliveryId, expiredAt } = await leasedAndExpired();
      const next = await store.claimDueDeliveries({ workerId: 'next', now: expiredAt + 1, ...CLAIM });
      expect(next.deliveries.map((d) => d.deliveryId)).toEqual([deliveryId]);
      const webhookId = next.deliveries[0]?.webhookId as string;
      const t = expiredAt + 2;
      await store.recordResults([
        {
          deliveryId,
          webhookId,
          leaseOwner: 'dead',
          trigger: 'scheduled',
          attempt: {
            id: crypto.randomUUID(),
            deliveryId,
            attemptNumber: 1,
            trigger: 'scheduled',
            startedAt: t - 5,
            responseTimeMs: 5,
            httpStatus: 200,
            errorClass: null,
            errorMessage: null,
            request: { url: 'http://127.0.0.1:9/hook', headers: {}, body: '' },
            response: { headers: {}, body: 'ok', truncated: false },
          },
          outcome: { kind: 'delivered' },
          finishedAt: t,
        },
      ]);
      const d = await store.getDelivery(orgId, deliveryId);
      expect(d?.delivery.status).toBe('pending');
      expect(await history(orgId, deliveryId)).toEqual({ count: 1, classes: ['worker_lost'] });
    });

    if (backend.name === 'postgres') {
      it('a renewal committed while the claim looks at the lease keeps it: nothing is logged', async () => {
        const { orgId, deliveryId, expiredAt } = await leasedAndExpired();
        // The owner's heartbeat, late: its UPDATE holds the row until it commits.
        const renewal = new pg.Client({ connectionString: tdb.url });
        await renewal.connect();
        try {
          await renewal.query('BEGIN');
          await renewal.query(
            `UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND lease_owner = 'dead'`,
            [expiredAt + 60_000, deliveryId],
          );
          const claiming = store.claimDueDeliveries({ workerId: 'next', now: expiredAt + 1, ...CLAIM });
          // The claim has read the expired lease by now and waits for the row.
          await new Promise((r) => setTimeout(r, 300));
          await renewal.query('COMMIT');
          const claim = await claiming;
          expect(claim.deliveries).toEqual([]);
          const owner = await renewal.query('SELECT lease_owner FROM deliveries WHERE id = $1', [deliveryId]);
          expect(owner.rows).toEqual([{ lease_owner: 'dead' }]);
        } finally {
          await renewal.end();
        }
        expect(await history(orgId, deliveryId)).toEqual({ count: 0, classes: [] });
      });
    }
  });
}
