/**
 * A run's deliveries. The API has no "deliveries of run X" filter, so we read the organization's
 * deliveries created since the run began (newest first, bounded) and keep those whose event
 * belongs to the run. Deliveries of one event share its event_id, so each event is read once.
 */
import { api } from './api';
import { collectPages } from './queries';
import type { Delivery, DeliveryDetail, RunhookEvent, TestRun } from './types';

const MAX_CANDIDATES = 300;
const CONCURRENCY = 6;

export interface RunDeliveries {
  deliveries: Delivery[];
  /** How many recent deliveries were looked at. */
  scanned: number;
  /** True when the look stopped at MAX_CANDIDATES before reaching the run's start. */
  capped: boolean;
}

function eventBelongsTo(event: RunhookEvent, run: TestRun): boolean {
  if (event.test_run_id === run.id || event.test_run_id === run.test_run_id) return true;
  const payload = event.payload as { test_run?: { id?: unknown } } | null;
  return typeof payload === 'object' && payload !== null && payload.test_run?.id === run.id;
}

export async function findRunDeliveries(run: TestRun, signal: AbortSignal): Promise<RunDeliveries> {
  // API times are to the second; allow for the run's own second.
  const since = Date.parse(run.created_at) - 1000;
  const recent = await collectPages<'deliveries', Delivery>('/deliveries', 'deliveries', signal, {
    maxPages: MAX_CANDIDATES / 100,
    stop: (page) => page.some((d) => Date.parse(d.created_at) < since),
  });
  const candidates = recent.filter((d) => Date.parse(d.created_at) >= since);
  const capped = recent.length >= MAX_CANDIDATES && candidates.length === recent.length;

  const byEvent = new Map<string, Delivery>();
  for (const delivery of candidates)
    if (!byEvent.has(delivery.event_id)) byEvent.set(delivery.event_id, delivery);
  const representatives = [...byEvent.values()];
  const matchingEvents = new Set<string>();
  let next = 0;
  async function worker() {
    while (next < representatives.length) {
      const delivery = representatives[next++]!;
      const detail = await api.get<DeliveryDetail>(`/deliveries/${encodeURIComponent(delivery.id)}`, signal);
      if (detail.event && eventBelongsTo(detail.event, run)) matchingEvents.add(delivery.event_id);
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, representatives.length) }, worker));
  return {
    deliveries: candidates.filter((d) => matchingEvents.has(d.event_id)),
    scanned: candidates.length,
    capped,
  };
}
