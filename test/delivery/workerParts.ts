/** Small fixtures for the worker's parts, tested without a database (see workerParts tests). */
import pino from 'pino';
import type { ClaimedDelivery, DeliveryResult } from '../../src/store/store.js';

export const silentLogger = pino({ level: 'silent' });

let next = 0;

export function delivery(
  webhookId: string,
  orgId = 'org-1',
  trigger: ClaimedDelivery['trigger'] = 'scheduled',
) {
  next++;
  return {
    deliveryId: `d${next}`,
    eventId: `e${next}`,
    orgId,
    webhookId,
    body: '{}',
    attemptCount: 0,
    retriesDone: 0,
    trigger,
    finalAttempt: false,
    leaseOwner: 'w1',
    target: {
      url: 'http://127.0.0.1:1/',
      format: 'standard',
      headers: {},
      secretEnc: null,
      previousSecretEnc: null,
    },
  } satisfies ClaimedDelivery as ClaimedDelivery;
}

export function result(
  deliveryId: string,
  outcome: DeliveryResult['outcome'] = { kind: 'delivered' },
): DeliveryResult {
  return {
    deliveryId,
    webhookId: 'wh',
    leaseOwner: 'w1',
    trigger: 'scheduled',
    attempt: null,
    outcome,
    finishedAt: 0,
  };
}

/** A promise with its resolve and reject outside. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
