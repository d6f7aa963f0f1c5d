/** A run's deliveries, through the API's `test_run_id` filter (newest first). */
import { collectPages } from './queries';
import type { Delivery, TestRun } from './types';

export interface RunDeliveries {
  deliveries: Delivery[];
}

export async function findRunDeliveries(run: TestRun, signal: AbortSignal): Promise<RunDeliveries> {
  const deliveries = await collectPages<'deliveries', Delivery>('/deliveries', 'deliveries', signal, {
    query: { test_run_id: run.id },
  });
  return { deliveries };
}
