/**
 * Endpoint health (docs/receiving-webhooks.md, "When your endpoint fails"), as pure functions of a
 * webhook's counters, the policy from configuration and `now`: its health, whether the system
 * turns it off, when it is probed next, and which operator alert a change of health raises.
 */
import type { DisabledReason, WebhookHealth } from './types.js';

export interface HealthPolicy {
  /** consecutive_failures at which a webhook is `degraded` (RUNHOOK_DEGRADED_AFTER). */
  degradedAfter: number;
  /** Failed deliveries in a row that may disable a webhook; 0 = never (RUNHOOK_DISABLE_AFTER_FAILURES). */
  disableAfterFailures: number;
  /** How old the first failed attempt of that streak must be (RUNHOOK_DISABLE_AFTER). */
  disableAfterMs: number;
  /** Delays between probes of a disabled webhook, the last repeating (RUNHOOK_PROBE_SCHEDULE). */
  probeSchedule: readonly number[];
}

export interface HealthFacts {
  isEnabled: boolean;
  consecutiveFailures: number;
  disabledReason: DisabledReason | null;
  /** When the first failed attempt since the last success started. */
  failingSince: number | null;
  /** Event deliveries ended failed in a row since the last success. */
  failedStreak: number;
}

export function webhookHealth(
  w: Pick<HealthFacts, 'isEnabled' | 'consecutiveFailures'>,
  degradedAfter: number,
): WebhookHealth {
  if (!w.isEnabled) return 'disabled';
  return w.consecutiveFailures >= degradedAfter ? 'degraded' : 'healthy';
}

/** The system turns a webhook off after enough failed deliveries in a row over a long enough time. */
export function shouldAutoDisable(w: HealthFacts, policy: HealthPolicy, now: number): boolean {
  return (
    w.isEnabled &&
    policy.disableAfterFailures > 0 &&
    w.failedStreak >= policy.disableAfterFailures &&
    w.failingSince !== null &&
    now - w.failingSince >= policy.disableAfterMs
  );
}

/** A webhook the system turned off is probed; one a person turned off is left alone. */
export function isProbed(reason: DisabledReason | null): boolean {
  return reason === 'gone' || reason === 'failing';
}

/** The delay before probe number `probesDone + 1`: the schedule's step, its last one repeating. */
export function probeDelay(schedule: readonly number[], probesDone: number): number {
  const last = schedule.length - 1;
  return schedule[Math.min(probesDone, last)] ?? 0;
}

export type AlertEvent = 'webhook.degraded' | 'webhook.disabled' | 'webhook.recovered';

export type AlertState = WebhookHealth;

export interface AlertTransition {
  event: AlertEvent;
  /** degraded: `failing`; disabled: `gone` or `failing`; recovered: `probe`, `manual` or `delivered`. */
  reason: string;
  /** What the webhook's alert state becomes. */
  state: AlertState;
}

/**
 * The alert owed when a webhook's health differs from the one its last alert reported (one per
 * transition), or null. A person turning a webhook off raises none: they know.
 */
export function alertTransition(
  alerted: AlertState,
  w: HealthFacts & { recoveredBy: string | null },
  degradedAfter: number,
): AlertTransition | null {
  const health = webhookHealth(w, degradedAfter);
  if (health === alerted) return null;
  if (health === 'disabled') {
    if (!isProbed(w.disabledReason)) return null;
    return { event: 'webhook.disabled', reason: w.disabledReason as string, state: 'disabled' };
  }
  if (health === 'degraded' && alerted === 'healthy') {
    return { event: 'webhook.degraded', reason: 'failing', state: 'degraded' };
  }
  // Back to healthy, or re-enabled (by a probe or a person) and already failing again: either way
  // the incident that was reported is over.
  return { event: 'webhook.recovered', reason: w.recoveredBy ?? 'delivered', state: health };
}
