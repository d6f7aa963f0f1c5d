/**
 * Manual sends are bounded per webhook (docs/operations.md#limits): Test Webhook, redeliver and
 * recover each take one send from a sliding one-minute window of RUNHOOK_MANUAL_SEND_LIMIT; past it
 * the answer is 429 RATE_LIMITED with Retry-After. In memory, per API process, like RateLimiter.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

const WINDOW_MS = 60_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by buildApp; the routes that send on demand take from it. */
    manualSends: ManualSendLimiter;
  }
}

export class ManualSendLimiter {
  /** Per webhook, the times of the sends in the last minute, oldest first. */
  private readonly sends = new Map<string, number[]>();

  constructor(private readonly perMinute: number) {}

  /** Takes a send; returns 0 when allowed, else the whole seconds until one is free again. */
  take(webhookId: string, now: number): number {
    const recent = (this.sends.get(webhookId) ?? []).filter((t) => t > now - WINDOW_MS);
    if (recent.length >= this.perMinute) {
      this.sends.set(webhookId, recent);
      return Math.max(1, Math.ceil((recent[0]! + WINDOW_MS - now) / 1000));
    }
    if (this.sends.size > 50_000) this.forgetIdle(now);
    recent.push(now);
    this.sends.set(webhookId, recent);
    return 0;
  }

  /** Gives back a send taken at `at` that did not happen after all (404, 409, a dry run). */
  giveBack(webhookId: string, at: number): void {
    const recent = this.sends.get(webhookId);
    const i = recent?.lastIndexOf(at) ?? -1;
    if (recent && i >= 0) recent.splice(i, 1);
  }

  private forgetIdle(now: number): void {
    for (const [id, times] of this.sends) {
      if ((times.at(-1) ?? 0) <= now - WINDOW_MS) this.sends.delete(id);
    }
  }
}

/**
 * Takes one manual send for `webhookId` or throws 429 RATE_LIMITED (with a Retry-After header).
 * Returns the function that gives it back when the send does not happen after all.
 */
export function takeManualSend(
  api: FastifyInstance,
  reply: FastifyReply,
  webhookId: string,
  now: number,
): () => void {
  const wait = api.manualSends.take(webhookId, now);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new ApiError(
      'RATE_LIMITED',
      `too many manual sends to this webhook (Test Webhook, redeliver, recover); retry in ${wait} s`,
      { retry_after_seconds: wait },
    );
  }
  return () => api.manualSends.giveBack(webhookId, now);
}
