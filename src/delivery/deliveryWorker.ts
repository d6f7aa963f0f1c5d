import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ATTEMPT_TRIGGER } from '../domain/types.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Claim, ClaimedDelivery, DeliveryResult, Store } from '../store/store.js';
import { attemptDelivery } from './attempt.js';
import type { HttpSender } from './httpClient.js';

export interface WorkerSettings {
  retrySchedule: readonly number[];
  retryJitter: number;
  attemptTimeoutMs: number;
  workerConcurrency: number;
  webhookConcurrency: number;
  orgConcurrency: number;
  claimLeaseMs: number;
}

export interface WorkerDeps {
  store: Store;
  sender: HttpSender;
  secretBox: SecretBox;
  settings: WorkerSettings;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** The longest the worker sleeps without a wake-up (default 1 s); tests raise it to prove wake-ups. */
  idlePollMs?: number;
  /** Called once per finished delivery attempt (or skip), after it is durably recorded. */
  onRecorded?: (results: readonly DeliveryResult[]) => void;
  /**
   * Lease busy webhooks' deliveries ahead (docs/architecture.md#leasing-ahead): `runhook serve`'s
   * own worker does; `runhook worker` processes do not, so that scale-out workers share a busy
   * webhook's work instead of one of them holding it. Default false.
   */
  leaseAhead?: boolean;
}

export interface Worker {
  readonly id: string;
  start(): void;
  /** Stops claiming, lets in-flight attempts finish (up to `graceMs`), releases the rest, writes everything. */
  stop(graceMs?: number): Promise<void>;
}

/** Largest claim per round trip; also the group-commit size that triggers an immediate flush. */
const CLAIM_BATCH = 256;
/**
 * How long finished attempts wait to be written together (group commit). The flush also wakes the
 * claim that refills the slots those attempts held, so this is part of every slot's round: 2 ms
 * drained 1–16 % faster than 4 ms at the same CPU per delivery (commit f375150); 1 ms
 * cost more CPU than it gained.
 */
const FLUSH_DELAY_MS = 2;
/** Upper bound on any sleep: a missed wake-up (another process's event on SQLite, a lost NOTIFY) costs at most this. */
const FALLBACK_POLL_MS = 1_000;
/** When due work was missed to another worker's claim (or is due this instant), look again this soon. */
const RACE_RETRY_MS = 25;
/**
 * How many deliveries of one webhook a worker may hold leased ahead, in webhook caps
 * (docs/architecture.md#leasing-ahead). An answer then sends the next delivery at once, instead of
 * leaving its slot empty until a claim refills it (a slot's round was ~12 ms for a 3–4 ms request
 * under API load; commit 1193692).
 */
const LEASE_AHEAD_CAPS = 4;
/** What a queued delivery of a webhook that answered 410 is sent to: nothing (see goneFrom). */
const GONE_TARGET = Object.freeze({ unsendable: 'webhook_disabled' as const });
/**
 * The longest a delivery is held ahead before it is sent or handed back (see pump): a change to its
 * webhook (switched off, a new URL) reaches what is held ahead within this.
 */
const HOLD_MS = 1_000;
/** A queue blocked this long by other workers' leases alone is handed back (see unstick). */
const STUCK_RELEASE_MS = 1_000;

/**
 * The delivery worker: claims due deliveries under a lease, sends them, and records every attempt
 * in group-committed batches. It wakes at once on new work and otherwise sleeps until the next
 * due time.
 */
export function createWorker(deps: WorkerDeps): Worker {
  const { store, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const idlePollMs = deps.idlePollMs ?? FALLBACK_POLL_MS;
  const id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const inflight = new Map<string, ClaimedDelivery>();
  /**
   * Deliveries leased ahead, per webhook in due order, each sent when its webhook and organization
   * have room (docs/architecture.md#leasing-ahead). Every webhook's list is non-empty.
   */
  const queues = new Map<string, ClaimedDelivery[]>();
  const queuedAt = new WeakMap<ClaimedDelivery, number>();
  let queuedCount = 0;
  /** This worker's requests in flight per webhook and per organization (hand-offs included). */
  const flyingTo = new Map<string, number>();
  const flyingIn = new Map<string, number>();
  /** Every other worker's live leases, as this worker's last claim counted them after its lease. */
  let othersLeased: NonNullable<Claim['othersLeased']> = { webhooks: new Map(), orgs: new Map() };
  const leaseAhead = deps.leaseAhead ? LEASE_AHEAD_CAPS * settings.webhookConcurrency : 0;
  /** Whether the next claim leases ahead (see the loop). */
  let aheadPays = false;
  /** Deliveries stop() released while their attempt was still running: their outcome is dropped. */
  const handedBack = new Set<string>();
  let buffer: DeliveryResult[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  /** The results `flushing` is writing. */
  let writing: readonly DeliveryResult[] = [];
  /** A lease renewal under way (the heartbeat's); never at the same time as a write. */
  let renewing: Promise<void> | null = null;
  let stopping = false;
  let loopDone: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let unsubscribe: (() => void) | null = null;
  let withdrawHandoffs: (() => void) | null = null;
  /** Slots kept for deliveries being written with a hand-off (Store.takeHandoffs). */
  let reserved = 0;
  /**
   * Where due work may be waiting for a slot, as far as this worker knows: anywhere (the last claim
   * had no slot for some, or new work was announced since), or at these webhooks (the last claim
   * left some of theirs, a cap being full, or a hand-off of theirs failed). Only then does a freed
   * slot call for a claim, and a webhook's new deliveries come by hand-off only while nothing of it
   * may wait (they would overtake it).
   */
  let waitingAnywhere = true;
  let waitingAt = new Set<string>();
  const mayWait = () => waitingAnywhere || waitingAt.size > 0;
  let heartbeat: NodeJS.Timeout | null = null;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  function sleep(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  /**
   * This worker's leases that are not requests in flight, left out of its own counts against the
   * caps: settled (the answer is in, the result not written yet) and queued (leased ahead).
   */
  function idleIds(): string[] {
    const ids: string[] = [];
    for (const r of writing) ids.push(r.deliveryId);
    for (const r of buffer) ids.push(r.deliveryId);
    for (const q of queues.values()) for (const d of q) ids.push(d.deliveryId);
    return ids;
  }

  const bump = (m: Map<string, number>, key: string, by: number) => {
    const n = (m.get(key) ?? 0) + by;
    if (n === 0) m.delete(key);
    else m.set(key, n);
  };

  /**
   * Whether one more request fits this worker's slots, and one more of this delivery's webhook
   * keeps both caps, counting every other
   * worker's leases (as its last claim counted them) as requests in flight: whatever they leased
   * since, they counted all of this worker's leases, so the two together stay within the cap
   * (docs/architecture.md#leasing-ahead).
   */
  function hasRoom(d: ClaimedDelivery): boolean {
    return (
      inflight.size + reserved < settings.workerConcurrency &&
      (flyingTo.get(d.webhookId) ?? 0) <
        settings.webhookConcurrency - (othersLeased.webhooks.get(d.webhookId) ?? 0) &&
      (flyingIn.get(d.orgId) ?? 0) < settings.orgConcurrency - (othersLeased.orgs.get(d.orgId) ?? 0)
    );
  }

  /** Sends this webhook's queued deliveries, in order, while it has room. */
  function pump(webhookId: string): void {
    const q = queues.get(webhookId);
    if (!q) return;
    while (!stopping && q.length > 0 && hasRoom(q[0] as ClaimedDelivery)) {
      const d = q[0] as ClaimedDelivery;
      // Held too long (a slow endpoint): the webhook may have changed since its claim read it.
      // Back to the database, for a claim to lease again with the webhook as it is now.
      if (now() - (queuedAt.get(d) ?? now()) > HOLD_MS) {
        void handBack(webhookId);
        return;
      }
      queuedCount--;
      launch(q.shift() as ClaimedDelivery);
    }
    if (q.length === 0) queues.delete(webhookId);
  }

  /** Releases everything held ahead of this webhook: unsent, claimable by any worker again. */
  async function handBack(webhookId: string): Promise<void> {
    const q = queues.get(webhookId) ?? [];
    queues.delete(webhookId);
    queuedCount -= q.length;
    if (q.length > 0)
      await store
        .releaseLeases(
          id,
          q.map((d) => d.deliveryId),
        )
        .catch(() => {});
  }

  /**
   * The webhook answered 410 Gone, which turns it off when the result is written: what it holds
   * ahead ends failed without being sent, as a claim after that write would end it (a Test Webhook
   * sample is still sent, as to any disabled webhook), instead of asking a gone endpoint again.
   */
  function goneFrom(webhookId: string): void {
    const q = queues.get(webhookId);
    if (!q) return;
    for (let i = 0; i < q.length; i++) {
      const d = q[i] as ClaimedDelivery;
      if (d.trigger === ATTEMPT_TRIGGER.test) continue;
      q[i] = { ...d, target: GONE_TARGET };
      queuedAt.set(q[i] as ClaimedDelivery, queuedAt.get(d) ?? now());
    }
  }

  /**
   * After an answer: the freed slot goes to its webhook's queue first, then to the other queues (a
   * slot of its organization, or of the worker, may be what they wait for).
   */
  function pumpAfter(done: ClaimedDelivery): void {
    pump(done.webhookId);
    for (const webhookId of [...queues.keys()]) pump(webhookId);
  }

  /**
   * The webhooks whose queue only other workers' leases block (nothing of this worker in flight to
   * its webhook or organization, a slot free): no answer of ours will send it, a fresh count of
   * those leases may.
   */
  function stuckQueues(): string[] {
    const stuck: string[] = [];
    if (inflight.size + reserved >= settings.workerConcurrency) return stuck;
    for (const [webhookId, q] of queues) {
      const d = q[0] as ClaimedDelivery;
      if (!hasRoom(d) && !flyingTo.get(webhookId) && !flyingIn.get(d.orgId)) stuck.push(webhookId);
    }
    return stuck;
  }

  /** Since when each stuck queue has been stuck (see the loop). */
  const stuckSince = new Map<string, number>();

  /**
   * Counts the other workers' leases again soon while a queue is stuck, and hands a queue back
   * after STUCK_RELEASE_MS: the rules keep two workers from waiting on each other
   * (docs/architecture.md#leasing-ahead), and this bounds the wait if they ever did.
   */
  async function unstick(): Promise<boolean> {
    const stuck = stuckQueues();
    for (const webhookId of stuckSince.keys()) if (!stuck.includes(webhookId)) stuckSince.delete(webhookId);
    for (const webhookId of stuck) {
      const since = stuckSince.get(webhookId);
      if (since === undefined) stuckSince.set(webhookId, now());
      else if (now() - since >= STUCK_RELEASE_MS) {
        stuckSince.delete(webhookId);
        await handBack(webhookId);
      }
    }
    return stuck.length > 0;
  }

  /**
   * Writes the buffer in FLUSH_DELAY_MS (at once when it holds CLAIM_BATCH), or, while the previous
   * batch is still being written, wakes the loop then: the slots of the answers that came in are
   * free (settled attempts do not count against the caps), and their flush follows that write.
   */
  function flushSoon(): void {
    if (buffer.length >= CLAIM_BATCH && !flushing) void flush();
    else if (!flushTimer) {
      flushTimer = setTimeout(() => {
        flushTimer = null;
        if (flushing) {
          if (mayWait()) wake();
        } else void flush();
      }, FLUSH_DELAY_MS);
    }
  }

  async function flush(): Promise<void> {
    if (flushTimer) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (flushing) return flushing;
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    writing = batch;
    flushing = (async () => {
      try {
        // A lease renewal under way may name some of these rows: let it finish first (see start()).
        if (renewing) await renewing;
        const recorded = store.recordResults(batch);
        // The slots these answers held are free already: the claim leaves settled attempts out of
        // both caps (docs/operations.md#fairness-and-limits). Claim now, while the results are
        // written. Only if something may be waiting for them: otherwise the claim finds nothing.
        if (mayWait()) wake();
        await recorded;
        deps.onRecorded?.(batch);
        // Written. A retry's next time is visible now: the claim above saw the delivery still
        // leased, so its due time was in no claim's answer. Otherwise that claim (and flushSoon's
        // wake-ups for answers that came in meanwhile) already took every slot these freed.
        if (batch.some((r) => r.outcome.kind === 'retry')) wake();
      } catch (err) {
        // Keep them: written on the next flush. Meanwhile the leases keep others from resending.
        logger.error({ err, count: batch.length }, 'could not record attempts; will retry');
        writing = []; // in the buffer again
        buffer = batch.concat(buffer);
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        writing = [];
        flushing = null;
      }
      if (buffer.length > 0) flushSoon();
    })();
    return flushing;
  }

  async function attempt(claimed: ClaimedDelivery): Promise<DeliveryResult> {
    const result = await attemptDelivery(claimed, {
      sender: deps.sender,
      secretBox: deps.secretBox,
      timeoutMs: settings.attemptTimeoutMs,
      retrySchedule: settings.retrySchedule,
      retryJitter: settings.retryJitter,
      now,
      random,
    });
    const { attempt: sent, outcome } = result;
    if (!sent) {
      logger.info(
        { delivery_id: claimed.deliveryId, webhook_id: claimed.webhookId },
        'webhook disabled or deleted; delivery ends failed without sending',
      );
    } else if (outcome.kind !== 'delivered' || logger.isLevelEnabled('debug')) {
      // Successes at debug, everything else at info: a line per success cost about 50 µs of CPU
      // per attempt at thousands a second, and the attempt history keeps every attempt anyway
      // (docs/monitoring.md#logs).
      logger[outcome.kind === 'delivered' ? 'debug' : 'info'](
        {
          delivery_id: claimed.deliveryId,
          webhook_id: claimed.webhookId,
          attempt: sent.attemptNumber,
          trigger: claimed.trigger,
          http_status: sent.httpStatus,
          error_class: sent.errorClass,
          response_time_ms: sent.responseTimeMs,
          next: outcome.kind === 'delivered' ? 'succeeded' : outcome.kind,
        },
        'delivery attempt',
      );
    }
    return result;
  }

  function launch(claimed: ClaimedDelivery): void {
    inflight.set(claimed.deliveryId, claimed);
    bump(flyingTo, claimed.webhookId, 1);
    bump(flyingIn, claimed.orgId, 1);
    const landed = () => {
      inflight.delete(claimed.deliveryId);
      bump(flyingTo, claimed.webhookId, -1);
      bump(flyingIn, claimed.orgId, -1);
    };
    // Leaving `inflight` and entering the buffer happen in one step, so stop() sees each delivery
    // in exactly one of them when it decides what to hand back.
    void attempt(claimed).then(
      (result) => {
        landed();
        if (handedBack.has(claimed.deliveryId)) {
          // stop() released this delivery and another worker may already have sent it again:
          // writing this late outcome would log an attempt and count a failure for a delivery
          // this worker no longer holds.
          logger.warn(
            {
              delivery_id: claimed.deliveryId,
              http_status: result.attempt?.httpStatus ?? null,
              error_class: result.attempt?.errorClass ?? null,
            },
            'attempt finished after shutdown handed its delivery back; not recorded',
          );
        } else {
          // No wake-up here: the flush this schedules wakes the loop as it starts writing (or
          // flushSoon does, if a write is under way), and that claim takes every slot freed
          // meanwhile in one round trip, as settled attempts do not count against the caps.
          // Waking on each answer would cost a claim, a store round trip, per answer.
          buffer.push(result);
          flushSoon();
          if (result.outcome.kind === 'failed' && result.outcome.reason === 'gone')
            goneFrom(claimed.webhookId);
          pumpAfter(claimed);
          return;
        }
        wake();
      },
      (err) => {
        landed();
        // Not recorded: the lease runs out and the delivery is tried again (at-least-once).
        logger.error({ err, delivery_id: claimed.deliveryId }, 'delivery attempt crashed');
        pumpAfter(claimed);
        wake();
      },
    );
  }

  /**
   * Claims whenever woken (new work, a flush that freed slots, a lease renewal) and otherwise sleeps
   * until the next due time of a webhook with room, at most `idlePollMs`. A webhook or organization
   * at its cap is not in that time: a worker whose due deliveries all wait behind full webhooks
   * sleeps until a slot frees, instead of polling (docs/operations.md#fairness-and-limits).
   */
  async function loop(): Promise<void> {
    while (!stopping) {
      // Queued deliveries do not take these slots: a webhook's queue never keeps another's new
      // delivery from being claimed (docs/architecture.md#leasing-ahead).
      const free = settings.workerConcurrency - inflight.size - reserved;
      const limit = Math.min(free, CLAIM_BATCH);
      let delay = idlePollMs;
      if (limit > 0) {
        try {
          const claim = await store.claimDueDeliveries({
            workerId: id,
            now: now(),
            limit,
            leaseMs: settings.claimLeaseMs,
            perWebhookCap: settings.webhookConcurrency,
            perOrgCap: settings.orgConcurrency,
            idleIds: idleIds(),
            // Only while it may pay: work waited behind a cap while this worker had slots to
            // spare, or it holds some ahead. A worker whose slots are all taken (a drain over many
            // webhooks) would get nothing ahead, and counting for it costs the database.
            prefetch:
              leaseAhead > 0 && (aheadPays || queues.size > 0)
                ? {
                    perWebhook: leaseAhead,
                    room: settings.workerConcurrency - queuedCount,
                    queued: new Map([...queues].map(([w, q]) => [w, q.length])),
                  }
                : undefined,
          });
          if (claim.othersLeased) {
            othersLeased = claim.othersLeased;
            // Into each webhook's queue, behind what it holds already (in due order), and sent
            // while there is room: usually at once, the rest as answers free slots.
            for (const c of claim.deliveries) {
              const q = queues.get(c.webhookId);
              if (q) q.push(c);
              else queues.set(c.webhookId, [c]);
              queuedAt.set(c, now());
              queuedCount++;
            }
            for (const webhookId of [...queues.keys()]) pump(webhookId);
          } else {
            // All within the rooms, and nothing held ahead: sent at once.
            for (const c of claim.deliveries) launch(c);
          }
          if (stopping) break;
          const claimed = claim.deliveries.length;
          aheadPays = claimed < limit && claim.waitingWebhooks.length > 0;
          waitingAnywhere = claim.leftOver || claimed === limit;
          waitingAt = new Set(claim.waitingWebhooks);
          if (claimed === limit && limit < free) continue;
          // Due work another worker raced us for: look again soon, not at once.
          if (claim.leftOver && claimed < limit) delay = RACE_RETRY_MS;
          else if (claim.nextDueAt !== null)
            delay = Math.min(idlePollMs, Math.max(RACE_RETRY_MS, claim.nextDueAt - now()));
          // Held ahead behind other workers' leases only: no answer of ours will free them, so
          // count those leases again soon.
          if (queues.size > 0 && (await unstick())) delay = Math.min(delay, RACE_RETRY_MS);
        } catch (err) {
          logger.error({ err }, 'claiming deliveries failed; retrying in a second');
          waitingAnywhere = true;
          delay = FALLBACK_POLL_MS;
        }
      }
      await sleep(delay);
    }
  }

  return {
    id,
    start() {
      if (loopDone) return;
      unsubscribe = store.onNewWork(() => {
        waitingAnywhere = true;
        wake();
      });
      // New deliveries committed in this process come straight here when there is room
      // (docs/architecture.md#hand-off): no claim, no wake-up, sent as soon as they are durable.
      withdrawHandoffs = store.takeHandoffs({
        workerId: id,
        leaseMs: settings.claimLeaseMs,
        perWebhookCap: settings.webhookConcurrency,
        perOrgCap: settings.orgConcurrency,
        reserve: (webhookId) => {
          // Not while this worker holds deliveries ahead: a hand-off's lease counts the other
          // workers' leases as they are, but what it sends would not be in the budget its queues
          // are sent by, and a queue's organization could go past its cap (or, for the queue's own
          // webhook, the new delivery would overtake it). Claims take them meanwhile.
          if (stopping || waitingAnywhere || waitingAt.has(webhookId) || queues.size > 0) return false;
          if (inflight.size + reserved >= settings.workerConcurrency) return false;
          reserved++;
          return true;
        },
        idleIds,
        take: (delivery, webhookId) => {
          reserved--;
          if (delivery) launch(delivery);
          else {
            // Not leased (a cap, or a claim held the lock): it waits, pending, for a claim.
            waitingAt.add(webhookId);
            wake();
          }
        },
      });
      heartbeat = setInterval(
        () => {
          if (renewing) return;
          renewing = (async () => {
            // Never beside a write of this worker's results: the renewal could name rows the write
            // updates (they were in the buffer when it started) and lock them in another order,
            // a deadlock PostgreSQL breaks only after a second. Taken after the write, the ids
            // leave out what it wrote.
            if (flushing) await flushing;
            const ids = [...inflight.keys(), ...buffer.map((r) => r.deliveryId)];
            for (const q of queues.values()) for (const d of q) ids.push(d.deliveryId);
            if (ids.length > 0) {
              await store
                .extendLeases(id, ids, now() + settings.claimLeaseMs)
                .catch((err) => logger.warn({ err }, 'lease renewal failed'));
            }
          })().finally(() => {
            renewing = null;
          });
        },
        Math.max(100, Math.floor(settings.claimLeaseMs / 3)),
      );
      heartbeat.unref();
      loopDone = loop();
    },
    async stop(graceMs = Math.min(settings.attemptTimeoutMs + 1_000, 20_000)) {
      stopping = true;
      unsubscribe?.();
      withdrawHandoffs?.();
      wake();
      await loopDone;
      // Leased ahead, never sent: back at once, for any worker to send.
      const ahead = [...queues.values()].flat().map((d) => d.deliveryId);
      queues.clear();
      queuedCount = 0;
      if (ahead.length > 0) await store.releaseLeases(id, ahead).catch(() => {});
      const deadline = Date.now() + graceMs;
      // A hand-off being written when the offer was withdrawn still arrives, leased to this worker.
      while (reserved > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      while (inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (inflight.size > 0) {
        // Hand them back now rather than after the lease: another worker retries them at once.
        const ids = [...inflight.keys()];
        for (const deliveryId of ids) handedBack.add(deliveryId);
        await store.releaseLeases(id, ids).catch(() => {});
      }
      while (buffer.length > 0 || flushing) await flush();
      if (heartbeat) clearInterval(heartbeat);
    },
  };
}
