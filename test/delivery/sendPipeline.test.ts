/**
 * The send pipeline on its own (src/delivery/sendPipeline.ts), against real receivers on loopback:
 * a delivery's attempt and an operator alert are judged by the same rules, while an alert keeps
 * its own SSRF exemption (docs/architecture.md#one-send-pipeline).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSender } from '../../src/delivery/httpClient.js';
import { createSendPipeline, type SendPipeline } from '../../src/delivery/sendPipeline.js';
import { isGone } from '../../src/domain/classifyOutcome.js';
import { parseCidrList } from '../../src/domain/ipRules.js';
import { createSecretBox } from '../../src/security/secretBox.js';
import type { ClaimedDelivery } from '../../src/store/store.js';
import { type Behaviour, type Receiver, startReceiver } from '../helpers/receiver.js';

const NOW = 1_700_000_000_000;

describe('the send pipeline', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  /** A pipeline whose tenants' sender allows `allowed` (loopback is refused with ''). */
  function pipeline(allowed: string): SendPipeline {
    const p = createSendPipeline({
      sender: createHttpSender({ allowedCidrs: allowed === '' ? [] : parseCidrList(allowed) }),
      secretBox: createSecretBox('k'.repeat(32)),
      settings: { attemptTimeoutMs: 2_000, retrySchedule: [60_000], retryJitter: 0 },
      now: () => NOW,
      random: () => 0.5,
    });
    cleanups.push(() => p.close());
    return p;
  }

  async function receiver(behaviour: Behaviour): Promise<Receiver> {
    const r = await startReceiver();
    r.behaviour = behaviour;
    cleanups.push(() => r.close());
    return r;
  }

  function claimed(url: string, retriesDone: number): ClaimedDelivery {
    return {
      deliveryId: 'd1',
      eventId: 'e1',
      orgId: 'o1',
      webhookId: 'w1',
      body: '{"a":1}',
      attemptCount: retriesDone,
      retriesDone,
      trigger: 'scheduled',
      finalAttempt: false,
      leaseOwner: 'me',
      target: { url, format: 'standard', headers: {}, secretEnc: null, previousSecretEnc: null },
    };
  }

  it('judges an attempt and an alert alike: 500 retries on the schedule, then fails; 410 is gone', async () => {
    const r = await receiver({ kind: 'status', status: 500 });
    const p = pipeline('127.0.0.0/8');
    const attempt = await p.attempt(claimed(r.url, 0));
    const alert = await p.alert({ url: r.url, eventId: 'a1', body: '{}', secret: null, retriesDone: 0 });
    expect(attempt.outcome).toEqual({ kind: 'retry', at: NOW + 60_000 });
    expect(alert.outcome).toEqual(attempt.outcome);
    expect(attempt.attempt).toMatchObject({ httpStatus: 500, errorClass: 'http_status' });
    expect(alert.sent).toMatchObject({ httpStatus: 500, errorClass: null });

    const lastAttempt = await p.attempt(claimed(r.url, 1));
    const lastAlert = await p.alert({ url: r.url, eventId: 'a1', body: '{}', secret: null, retriesDone: 1 });
    expect(lastAttempt.outcome).toEqual({ kind: 'failed', reason: 'attempts_exhausted' });
    expect(lastAlert.outcome).toEqual(lastAttempt.outcome);

    r.behaviour = { kind: 'status', status: 410 };
    const gone = await p.attempt(claimed(r.url, 0));
    const goneAlert = await p.alert({ url: r.url, eventId: 'a1', body: '{}', secret: null, retriesDone: 0 });
    expect(isGone(gone.outcome)).toBe(true);
    expect(goneAlert.outcome).toEqual(gone.outcome);
    expect(r.requests).toHaveLength(6);
    // Both signed as `standard` deliveries, each with its own id.
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual(['e1', 'a1', 'e1', 'a1', 'e1', 'a1']);
  });

  it("refuses a tenant's loopback URL but sends an operator alert there (the operator's own URL)", async () => {
    const r = await receiver({ kind: 'status', status: 200 });
    const p = pipeline('');
    const attempt = await p.attempt(claimed(r.url, 0));
    expect(attempt.attempt).toMatchObject({ httpStatus: null, errorClass: 'ssrf_blocked' });
    expect(r.requests).toHaveLength(0);
    const alert = await p.alert({ url: r.url, eventId: 'a1', body: '{}', secret: null, retriesDone: 0 });
    expect(alert.outcome).toEqual({ kind: 'delivered' });
    expect(alert.finishedAt).toBe(NOW);
    expect(r.requests).toHaveLength(1);
  });
});
