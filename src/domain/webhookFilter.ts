/**
 * Which finished runs a webhook wants (docs/api.md, "Filters"): `null` means every run; otherwise
 * a run must have one of the listed statuses (when `statuses` is given) and a pass rate below
 * `below_pass_rate` (when given).
 */
import type { FinalRunStatus } from './types.js';

export interface WebhookFilter {
  statuses: FinalRunStatus[] | null;
  belowPassRate: number | null;
  /** Only runs that changed something since their baseline (docs/api.md#webhook-filters); absent: false. */
  onlyChanges?: boolean;
}

/**
 * True when a run that ended with `status` and `passRate` (0–100) gets a delivery. `notable`: the
 * run changed something since its baseline, or has none (changes.ts isNotable); absent counts as true.
 */
export function filterMatches(
  filter: WebhookFilter | null,
  status: FinalRunStatus,
  passRate: number,
  notable = true,
): boolean {
  if (filter === null) return true;
  if (filter.statuses !== null && !filter.statuses.includes(status)) return false;
  if (filter.belowPassRate !== null && !(passRate < filter.belowPassRate)) return false;
  if (filter.onlyChanges === true && !notable) return false;
  return true;
}

/** A filter with no condition is no filter: it is stored and shown as `null`. */
export function normalizeFilter(filter: WebhookFilter | null): WebhookFilter | null {
  if (filter === null || (filter.statuses === null && filter.belowPassRate === null && !filter.onlyChanges))
    return null;
  return filter;
}

/** A filter in the API's spelling, as shown and stored: only the conditions that are set. */
export interface FilterJson {
  statuses?: FinalRunStatus[];
  below_pass_rate?: number;
  only_changes?: boolean;
}

export function filterToJson(filter: WebhookFilter | null): FilterJson | null {
  if (filter === null) return null;
  return {
    ...(filter.statuses !== null && { statuses: filter.statuses }),
    ...(filter.belowPassRate !== null && { below_pass_rate: filter.belowPassRate }),
    ...(filter.onlyChanges === true && { only_changes: true }),
  };
}

/** The inverse of filterToJson; `{}` (no condition) is no filter. */
export function filterFromJson(json: FilterJson | null): WebhookFilter | null {
  if (json === null) return null;
  return normalizeFilter({
    statuses: json.statuses ?? null,
    belowPassRate: json.below_pass_rate ?? null,
    ...(json.only_changes === true && { onlyChanges: true }),
  });
}
