/**
 * The store's side of the hand-off (docs/architecture.md#hand-off), on a real database of each
 * backend: a finished run's delivery is leased to the taker only within both caps, never ahead of a
 * due delivery of the same webhook, never while another claim holds its organization's or webhook's claim lock (PostgreSQL), and
 * every reserve() is answered by exactly one take(), leased or not (on PostgreSQL just after the
 * store's answer: the lease follows the commit).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ORG_LOCK } from '../../src/store/postgres/openPostgres.js';
import type { ClaimedDelivery, HandoffTaker, Store } from '../../src/store/store.js';
import { backends, type TestDatabase } from '../helpers/backends.js';
import { finishRun, storeWithWebhooks } from './support.js';

interface Taken {
  reserved: number;
  taken: Array<ClaimedDelivery | null>;
}

/** Until every reserve() has its take(): on PostgreSQL the lease follows the commit, after the answer. */
async function answered(log: Taken): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (log.taken.length < log.reserved) {
    if (Date.now() > deadline) throw new Error(`${log.reserved - log.taken.length} reserve() never answered`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function taker(
  opts: { webhookCap?: number; orgCap?: number; refuse?: () => boolean },
  log: Taken,
): HandoffTaker {
  return {
    workerId: 'test-worker',
    leaseMs: 30_000,
    perWebhookCap: opts.webhookCap ?? 8,
    perOrgCap: opts.orgCap ?? 32,
    reserve: () => {
      if (opts.refuse?.()) return false;
      log.reserved++;
      return true;
    },
    idleIds: () => [],
    take: (d) => {
      log.taken.push(d);
    },
  };
}

for (const backend of backends) {
  describe(`store hand-off [${backend.name}]`, () => {
    let tdb: TestDatabase;
    let store: Store;
    afterEach(async () => {
      await store?.close();
      await tdb?.drop();
    });

    async function setup(log: Taken, webhooks: 1 | 2 = 1) {
      const f = await storeWithWebhooks(backend, webhooks, { headers: { 'X-Team': 'blue' } });
      ({ tdb, store } = f);
      const { agents } = f;
      const create = (agentId: string) => finishRun(store, f.orgId, agentId);
      /** A finished run, once the worker's side of its hand-off (if any) is settled. */
      const finish = async (agentId = agents[0] as string) => {
        const run = await create(agentId);
        await answered(log);
        return run;
      };
      return { org: f.orgId, agents, finish };
    }

    it('leases within the per-webhook cap, with the stored body and the webhook as it is', async () => {
      const log: Taken = { reserved: 0, taken: [] };
      const { finish } = await setup(log);
      store.takeHandoffs(taker({ webhookCap: 2 }, log));
      const runs = [await finish(), await finish(), await finish()];
      expect(log.reserved).toBe(3);
      expect(log.taken.map((d) => d !== null)).toEqual([true, true, false]);
      const first = log.taken[0] as ClaimedDelivery;
      expect(first.leaseOwner).toBe('test-worker');
      expect(first.attemptCount).toBe(0);
      expect(first.trigger).toBe('scheduled');
      // The run number is in the body (filled in by the database), as in the stored row.
      expect(JSON.parse(first.body).test_run.id).toBe(runs[0]?.id);
      expect(first.target).toMatchObject({ url: 'http://127.0.0.1:9/hook0', headers: { 'X-Team': 'blue' } });
      const pending = await store.countPending(Date.now());
      expect(pending.pending).toBe(3);
    });

    it('leases within the per-organization cap, across webhooks', async () => {
      const log: Taken = { reserved: 0, taken: [] };
      const { finish, agents } = await setup(log, 2);
      store.takeHandoffs(taker({ webhookCap: 8, orgCap: 1 }, log));
      await finish(agents[0]);
      await finish(agents[1]);
      expect(log.taken.map((d) => d !== null)).toEqual([true, false]);
    });

    it('never overtakes a due delivery of the same webhook that nobody leased', async () => {
      const log: Taken = { reserved: 0, taken: [] };
      const { finish, agents } = await setup(log, 2);
      let refuse = true;
      store.takeHandoffs(taker({ refuse: () => refuse }, log));
      await finish(agents[0]); // not offered: waits, due and unleased
      refuse = false;
      await finish(agents[0]); // same webhook: must wait behind it
      await finish(agents[1]); // another webhook: nothing waits there
      expect(log.reserved).toBe(2);
      expect(log.taken.map((d) => d?.webhookId ?? null)).toEqual([null, expect.any(String)]);
    });

    it('a withdrawn offer takes nothing; a refused run reserves nothing', async () => {
      const log: Taken = { reserved: 0, taken: [] };
      const { finish } = await setup(log);
      const withdraw = store.takeHandoffs(taker({}, log));
      await finish();
      withdraw();
      await finish();
      expect(log.reserved).toBe(1);
      expect(log.taken).toHaveLength(1);

      store.takeHandoffs(taker({}, log));
      await expect(
        store.createFinishedRun(
          (await store.listOrganizations(Date.now()))[0]?.id as string,
          { agentId: crypto.randomUUID(), name: 'run', totalScenarios: 1, startedAt: null },
          {
            status: 'completed',
            passedCount: 1,
            failedCount: 0,
            errorCount: 0,
            completedAt: 1,
            totalScenarios: 1,
          },
          'http://runhook.test',
          Date.now(),
        ),
      ).rejects.toThrow(/agent/);
      expect(log.reserved).toBe(1);
      expect(log.taken).toHaveLength(1);
    });

    if (backend.name === 'postgres') {
      it("does not wait for a claim lock: while another transaction holds the organization's, nothing is leased", async () => {
        const log: Taken = { reserved: 0, taken: [] };
        const { finish, org } = await setup(log);
        store.takeHandoffs(taker({}, log));
        const holder = new pg.Client({ connectionString: tdb.url });
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query(`SELECT pg_advisory_xact_lock(${ORG_LOCK}, hashtext($1))`, [org]);
          const started = Date.now();
          await finish();
          expect(Date.now() - started).toBeLessThan(2_000);
          expect(log.taken).toEqual([null]);
          await holder.query('COMMIT');
          await finish();
          // The first still waits (due, unleased): the second must not overtake it.
          expect(log.taken).toEqual([null, null]);
        } finally {
          await holder.end();
        }
      });
    }
  });
}
