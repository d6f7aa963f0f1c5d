import type { Logger } from 'pino';
import { renderBody, testPayload } from '../domain/payloads.js';
import type { ClaimedDelivery } from '../store/store.js';
import type { HealthMonitorDeps } from './healthMonitor.js';

const PROBE_LEASE_SLACK_MS = 10_000;

export interface ProbeDeps extends Pick<HealthMonitorDeps, 'store' | 'send' | 'onRecorded' | 'config'> {
  logger: Logger;
  now: () => number;
  /** Reconciles these webhooks' health (the monitor's pass). */
  reconcile(webhookIds: string[]): Promise<void>;
}

/**
 * Probes of webhooks the system turned off (docs/receiving-webhooks.md, "When your endpoint
 * fails"): the monitor takes the due ones and sends each itself, through the process's send
 * pipeline like any delivery (sendPipeline.ts; trigger `probe`), and records it as the worker
 * would; a delivered answer switches the webhook back on.
 * Returns the step that sends the probes due now.
 */
export function createProbes(deps: ProbeDeps): () => Promise<void> {
  const { store, config, logger, now, reconcile } = deps;

  /** One probe through the send pipeline, recorded as its outcome says, as Test Webhook does. */
  async function probe(claimed: ClaimedDelivery): Promise<void> {
    const recorded = await deps.send.attempt(claimed);
    const delivered = recorded.outcome.kind === 'delivered';
    const t = recorded.finishedAt;
    const result = { httpStatus: recorded.attempt?.httpStatus ?? null };
    await store.recordResults([recorded]);
    deps.onRecorded?.([recorded]);
    const reenabled = delivered && (await store.reenableAfterProbe(claimed.webhookId, t));
    logger.info(
      {
        webhook_id: claimed.webhookId,
        delivery_id: claimed.deliveryId,
        http_status: result.httpStatus,
        reenabled,
      },
      reenabled ? 'probe answered 2xx: webhook re-enabled' : 'probe failed; the webhook stays disabled',
    );
    // Its health changed (or its failure count did): reconcile now rather than at the next pass.
    await reconcile([claimed.webhookId]);
  }

  async function probeDue(): Promise<void> {
    const t = now();
    const due = await store.dueProbes({
      now: t,
      firstDelayMs: config.health.probeSchedule[0] ?? 0,
      limit: 100,
    });
    const started: ClaimedDelivery[] = [];
    for (const p of due) {
      const payload = testPayload(t, config.publicUrl);
      const claimed = await store.startProbe({
        probe: p,
        payload: JSON.stringify(payload),
        body: renderBody(p.format, payload, t),
        now: t,
        schedule: config.health.probeSchedule,
        leaseMs: config.attemptTimeoutMs + PROBE_LEASE_SLACK_MS,
      });
      if (claimed) started.push(claimed);
    }
    await Promise.all(
      started.map((c) =>
        probe(c).catch((err) => logger.error({ err, webhook_id: c.webhookId }, 'probe crashed')),
      ),
    );
  }

  return probeDue;
}
