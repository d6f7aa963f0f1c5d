/**
 * The delivery worker's loop: claim due deliveries, launch each attempt, sleep until woken or the
 * next due time, and stop. What it keeps is in modules of their own: its slots (slots.ts), the
 * results on their way to the database (resultBuffer.ts), deliveries leased ahead
 * (leaseAheadQueues.ts) and the lease renewals (leaseHeartbeat.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isGone } from '../domain/classifyOutcome.js';
import type { WorkerId } from '../domain/ids.js';
import type { Claim, ClaimedDelivery, DeliveryResult, Store } from '../store/store.js';
import { createLeaseAheadQueues, type LeaseAheadQueues } from './leaseAheadQueues.js';
import { type LeaseHeartbeat, startLeaseHeartbeat } from './leaseHeartbeat.js';
import { createResultBuffer, RESULT_BATCH, type ResultBuffer } from './resultBuffer.js';
import type { SendPipeline } from './sendPipeline.js';
import { createSlots, orgReserve, type Slots } from './slots.js';
import { createWakeSignal, type WakeSignal } from './wakeSignal.js';

/** The worker's own configuration; how it sends (timeout, retry schedule) is the send pipeline's. */
export interface WorkerSettings {
  /** Bounds how long stop() waits for attempts in flight. */
  attemptTimeoutMs: number;
  workerConcurrency: number;
  webhookConcurrency: number;
  orgConcurrency: number;
  /** RUNHOOK_ORG_CONCURRENCY=auto (docs/operations.md#fairness-and-limits). */
  orgBorrow?: boolean;
  claimLeaseMs: number;
}

export interface WorkerDeps {
  store: Store;
  /** The process's one send path (runtime.ts): every attempt goes through it. */
  send: SendPipeline;
  settings: WorkerSettings;
  logger: Logger;
  /** The worker's clock (claims, leases); an attempt's times are the send pipeline's. */
  now?: () => number;
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
  readonly id: WorkerId;
  start(): void;
  /** Stops claiming, lets in-flight attempts finish (up to `graceMs`), releases the rest, writes everything. */
  stop(graceMs?: number): Promise<void>;
}

/** Largest claim per round trip (the result buffer writes groups of the same size at once). */
const CLAIM_BATCH = RESULT_BATCH;
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

/**
 * The delivery worker: claims due deliveries under a lease, sends them, and records every attempt
 * in group-committed batches. It wakes at once on new work and otherwise sleeps until the next
 * due time.
 */
export function createWorker(deps: WorkerDeps): Worker {
  return new DeliveryWorker(deps);
}

class DeliveryWorker implements Worker {
  /**
   * `:s`: this worker holds a session lock while it runs (PostgreSQL), by which the others tell
   * when it is gone (docs/delivery.md#leases-and-at-least-once).
   */
  readonly id: WorkerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:s`;
  private readonly store: Store;
  private readonly settings: WorkerSettings;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly idlePollMs: number;
  /** Deliveries per webhook this worker may hold ahead (0: it does not lease ahead). */
  private readonly leaseAhead: number;
  private readonly slots: Slots;
  private readonly queues: LeaseAheadQueues;
  private readonly results: ResultBuffer;
  private readonly signal: WakeSignal = createWakeSignal();
  private heartbeat: LeaseHeartbeat | null = null;
  /** Deliveries stop() released while their attempt was still running: their outcome is dropped. */
  private readonly handedBack = new Set<string>();
  /** Whether the next claim leases ahead (see claim). */
  private aheadPays = false;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private withdrawHandoffs: (() => void) | null = null;
  /**
   * Where due work may be waiting for a slot, as far as this worker knows: anywhere (the last claim
   * had no slot for some, or new work was announced since), or at these webhooks (the last claim
   * left some of theirs, a cap being full, or a hand-off of theirs failed). Only then does a freed
   * slot call for a claim, and a webhook's new deliveries come by hand-off only while nothing of it
   * may wait (they would overtake it).
   */
  private waitingAnywhere = true;
  /** Claims in a row that left due work to other workers' leases (see afterClaim). */
  private raced = 0;
  private waitingAt = new Set<string>();

  constructor(private readonly deps: WorkerDeps) {
    this.store = deps.store;
    this.settings = deps.settings;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
    this.idlePollMs = deps.idlePollMs ?? FALLBACK_POLL_MS;
    this.leaseAhead = deps.leaseAhead ? LEASE_AHEAD_CAPS * deps.settings.webhookConcurrency : 0;
    this.slots = createSlots(deps.settings);
    this.queues = createLeaseAheadQueues({
      slots: this.slots,
      launch: (d) => this.launch(d),
      release: (ids) => this.store.releaseLeases(this.id, ids),
      now: this.now,
      stopping: () => this.stopping,
    });
    this.results = createResultBuffer({
      write: (batch) => this.store.recordResults(batch),
      before: () => this.heartbeat?.renewing() ?? null,
      // The slots these answers held are free already: the claim leaves settled attempts out of
      // both caps (docs/operations.md#fairness-and-limits). Claim now, while the results are
      // written. Only if something may be waiting for them: otherwise the claim finds nothing.
      slotsFreed: () => {
        if (this.mayWait()) this.wake();
      },
      written: (batch) => {
        deps.onRecorded?.(batch);
        // A retry's next time is visible now: the claim at the write's start saw the delivery
        // still leased, so its due time was in no claim's answer. Otherwise that claim already
        // took every slot these freed.
        if (batch.some((r) => r.outcome.kind === 'retry')) this.wake();
      },
      logger: deps.logger,
    });
  }

  private mayWait(): boolean {
    return this.waitingAnywhere || this.waitingAt.size > 0;
  }

  private wake(): void {
    this.signal.wake();
  }

  /**
   * This worker's leases that are not requests in flight, left out of its own counts against the
   * caps: settled (the answer is in, the result not written yet) and queued (leased ahead).
   */
  private idleIds(): string[] {
    return [...this.results.unwrittenIds(), ...this.queues.ids()];
  }

  private async attempt(claimed: ClaimedDelivery): Promise<DeliveryResult> {
    const result = await this.deps.send.attempt(claimed);
    const { attempt: sent, outcome } = result;
    if (!sent) {
      this.logger.info(
        { delivery_id: claimed.deliveryId, webhook_id: claimed.webhookId },
        'webhook disabled or deleted; delivery ends failed without sending',
      );
    } else if (outcome.kind !== 'delivered' || this.logger.isLevelEnabled('debug')) {
      // Successes at debug, everything else at info: a line per success cost about 50 µs of CPU
      // per attempt at thousands a second, and the attempt history keeps every attempt anyway
      // (docs/monitoring.md#logs).
      this.logger[outcome.kind === 'delivered' ? 'debug' : 'info'](
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

  private launch(claimed: ClaimedDelivery): void {
    this.slots.take(claimed);
    // Leaving the slots and entering the buffer happen in one step, so stop() sees each delivery
    // in exactly one of them when it decides what to hand back.
    void this.attempt(claimed).then(
      (result) => {
        this.slots.land(claimed);
        if (this.handedBack.has(claimed.deliveryId)) {
          // stop() released this delivery and another worker may already have sent it again:
          // writing this late outcome would log an attempt and count a failure for a delivery
          // this worker no longer holds.
          this.logger.warn(
            {
              delivery_id: claimed.deliveryId,
              http_status: result.attempt?.httpStatus ?? null,
              error_class: result.attempt?.errorClass ?? null,
            },
            'attempt finished after shutdown handed its delivery back; not recorded',
          );
          this.wake();
          return;
        }
        // No wake-up here: the write this schedules wakes the loop as it starts (or when its delay
        // runs out behind another write), and that claim takes every slot freed meanwhile in one
        // round trip, as settled attempts do not count against the caps. Waking on each answer
        // would cost a claim, a store round trip, per answer.
        this.results.push(result);
        if (isGone(result.outcome)) this.queues.goneFrom(claimed.webhookId);
        this.queues.pumpAfter(claimed);
      },
      (err) => {
        this.slots.land(claimed);
        // Not recorded: the lease runs out and the delivery is tried again (at-least-once).
        this.logger.error({ err, delivery_id: claimed.deliveryId }, 'delivery attempt crashed');
        this.queues.pumpAfter(claimed);
        this.wake();
      },
    );
  }

  /**
   * Claims whenever woken (new work, a flush that freed slots, a lease renewal) and otherwise sleeps
   * until the next due time of a webhook with room, at most `idlePollMs`. A webhook or organization
   * at its cap is not in that time: a worker whose due deliveries all wait behind full webhooks
   * sleeps until a slot frees, instead of polling (docs/operations.md#fairness-and-limits).
   */
  private async loop(): Promise<void> {
    while (!this.stopping) {
      // Queued deliveries do not take these slots: a webhook's queue never keeps another's new
      // delivery from being claimed (docs/architecture.md#leasing-ahead).
      const free = this.slots.free();
      const limit = Math.min(free, CLAIM_BATCH);
      let delay = this.idlePollMs;
      if (limit > 0) {
        const next = await this.claim(limit, free);
        if (next === 'stop') break;
        if (next === 'again') continue;
        delay = next;
      }
      await this.signal.sleep(delay);
    }
  }

  /** One claim of up to `limit` deliveries: how long to sleep after it, or to claim again at once. */
  private async claim(limit: number, free: number): Promise<number | 'again' | 'stop'> {
    try {
      const claim = await this.store.claimDueDeliveries({
        workerId: this.id,
        now: this.now(),
        limit,
        leaseMs: this.settings.claimLeaseMs,
        perWebhookCap: this.settings.webhookConcurrency,
        perOrgCap: this.settings.orgConcurrency,
        idleIds: this.idleIds(),
        prefetch: this.prefetch(),
        orgBorrow: this.settings.orgBorrow ? { free, reserve: orgReserve(this.settings) } : undefined,
      });
      if (claim.othersLeased) {
        this.slots.setOthersLeased(claim.othersLeased);
        this.queues.add(claim.deliveries);
      } else {
        // All within the rooms, and nothing held ahead: sent at once.
        for (const c of claim.deliveries) this.launch(c);
      }
      if (this.stopping) return 'stop';
      return await this.afterClaim(claim, limit, free);
    } catch (err) {
      this.logger.error({ err }, 'claiming deliveries failed; retrying in a second');
      this.waitingAnywhere = true;
      return FALLBACK_POLL_MS;
    }
  }

  /**
   * Lease ahead only while it may pay: work waited behind a cap while this worker had slots to
   * spare, or it holds some ahead. A worker whose slots are all taken (a drain over many webhooks)
   * would get nothing ahead, and counting for it costs the database.
   */
  private prefetch(): Parameters<Store['claimDueDeliveries']>[0]['prefetch'] {
    if (this.leaseAhead === 0 || !(this.aheadPays || this.queues.webhooks > 0)) return undefined;
    return {
      perWebhook: this.leaseAhead,
      room: this.settings.workerConcurrency - this.queues.count,
      queued: this.queues.lengths(),
    };
  }

  /** `ms` give or take half. */
  private jittered(ms: number): number {
    return Math.round(ms * (0.5 + Math.random()));
  }

  /** What a claim's answer says about where work waits, and how long to sleep. */
  private async afterClaim(claim: Claim, limit: number, free: number): Promise<number | 'again'> {
    const claimed = claim.deliveries.length;
    this.aheadPays = claimed < limit && claim.waitingWebhooks.length > 0;
    this.waitingAnywhere = claim.leftOver || claimed === limit;
    this.waitingAt = new Set(claim.waitingWebhooks);
    if (claimed === limit && limit < free) return 'again';
    let delay = this.idlePollMs;
    // Due work another worker raced us for: look again, not at once. Missed for a reason no
    // wake-up reports: soon. Leased by another worker first: its answers free that room and wake
    // it, not this worker, so each such claim in a row waits twice as long (jittered, so workers
    // do not fall into step), up to the idle poll (docs/architecture.md#claims).
    const raced = claim.leftOver && claimed < limit;
    this.raced = raced && !claim.missed ? this.raced + 1 : 0;
    if (claim.nextDueAt !== null)
      delay = Math.min(this.idlePollMs, Math.max(RACE_RETRY_MS, claim.nextDueAt - this.now()));
    if (claim.missed) delay = this.jittered(RACE_RETRY_MS);
    else if (raced) delay = Math.min(delay, this.jittered(RACE_RETRY_MS * 2 ** (this.raced - 1)));
    // Held ahead behind other workers' leases only: no answer of ours will free them, so count
    // those leases again soon.
    if (this.queues.webhooks > 0 && (await this.queues.unstick())) delay = Math.min(delay, RACE_RETRY_MS);
    return delay;
  }

  start(): void {
    if (this.loopDone) return;
    this.unsubscribe = this.store.onNewWork(() => {
      this.waitingAnywhere = true;
      this.wake();
    });
    this.offerHandoffs();
    this.heartbeat = startLeaseHeartbeat({
      ids: () => [...this.slots.inflight.keys(), ...this.results.bufferedIds(), ...this.queues.ids()],
      extend: (ids) => this.store.extendLeases(this.id, ids, this.now() + this.settings.claimLeaseMs),
      writing: () => this.results.writing(),
      intervalMs: Math.max(100, Math.floor(this.settings.claimLeaseMs / 3)),
      logger: this.logger,
    });
    this.loopDone = this.loop();
  }

  /**
   * New deliveries committed in this process come straight here when there is room
   * (docs/architecture.md#hand-off): no claim, no wake-up, sent as soon as they are durable.
   */
  private offerHandoffs(): void {
    this.withdrawHandoffs = this.store.takeHandoffs({
      workerId: this.id,
      leaseMs: this.settings.claimLeaseMs,
      perWebhookCap: this.settings.webhookConcurrency,
      perOrgCap: this.settings.orgConcurrency,
      reserve: (webhookId) => {
        // Not while this worker holds deliveries ahead: a hand-off's lease counts the other
        // workers' leases as they are, but what it sends would not be in the budget its queues
        // are sent by, and a queue's organization could go past its cap (or, for the queue's own
        // webhook, the new delivery would overtake it). Claims take them meanwhile.
        if (this.stopping || this.waitingAnywhere || this.waitingAt.has(webhookId)) return false;
        if (this.queues.webhooks > 0 || this.slots.free() <= 0) return false;
        this.slots.reserve();
        return true;
      },
      idleIds: () => this.idleIds(),
      take: (delivery, webhookId) => {
        this.slots.unreserve();
        if (delivery) this.launch(delivery);
        else {
          // Not leased (a cap, or a claim held the lock): it waits, pending, for a claim.
          this.waitingAt.add(webhookId);
          this.wake();
        }
      },
    });
  }

  async stop(graceMs = Math.min(this.settings.attemptTimeoutMs + 1_000, 20_000)): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.withdrawHandoffs?.();
    this.wake();
    await this.loopDone;
    // Leased ahead, never sent: back at once, for any worker to send.
    await this.queues.releaseAll();
    const deadline = Date.now() + graceMs;
    // A hand-off being written when the offer was withdrawn still arrives, leased to this worker.
    while (this.slots.reserved > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    while (this.slots.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.slots.inflight.size > 0) {
      // Hand them back now rather than after the lease: another worker retries them at once.
      const ids = [...this.slots.inflight.keys()];
      for (const deliveryId of ids) this.handedBack.add(deliveryId);
      await this.store.releaseLeases(this.id, ids).catch(() => {});
    }
    await this.results.drain();
    this.heartbeat?.stop();
  }
}
