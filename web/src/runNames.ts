/**
 * Runs are named by their TR- id everywhere; a delivery only knows its run's UUID, so the
 * tables that list deliveries look the TR- ids up (GET /runs/{id}, a few at a time, remembered
 * for the session). Until one is known, the UUID's last 8 characters stand in for it.
 */
import { useEffect, useState } from 'react';
import { api } from './api';
import type { TestRun } from './types';

const known = new Map<string, string>();
const asked = new Set<string>();
const CONCURRENCY = 4;

async function lookUp(ids: string[], signal: AbortSignal): Promise<void> {
  let next = 0;
  async function worker() {
    while (next < ids.length && !signal.aborted) {
      const id = ids[next++]!;
      try {
        const run = await api.get<TestRun>(`/runs/${encodeURIComponent(id)}`, signal);
        known.set(id, run.test_run_id);
      } catch {
        // A deleted run keeps its short id.
        asked.delete(id);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
}

/** TR- ids of these runs (by UUID), filled in as they arrive. */
export function useRunNames(runIds: Array<string | null>): ReadonlyMap<string, string> {
  const [, setVersion] = useState(0);
  const wanted = [...new Set(runIds.filter((id): id is string => !!id))].sort().join(',');
  useEffect(() => {
    const missing = wanted ? wanted.split(',').filter((id) => !known.has(id) && !asked.has(id)) : [];
    if (missing.length === 0) return;
    for (const id of missing) asked.add(id);
    const controller = new AbortController();
    lookUp(missing, controller.signal).then(
      () => {
        if (!controller.signal.aborted) setVersion((n) => n + 1);
      },
      () => undefined,
    );
    return () => {
      controller.abort();
      for (const id of missing) if (!known.has(id)) asked.delete(id);
    };
  }, [wanted]);
  return known;
}
