/**
 * A webhook's `filter` in words and as an editor draft (docs/api.md, "Webhook filters"): which
 * finished runs get a delivery. Both conditions given means both must hold.
 */
import type { WebhookFilter } from './types';

export const FILTER_STATUSES = ['completed', 'failed', 'canceled'] as const;
export type FilterStatus = (typeof FILTER_STATUSES)[number];

/** "every finished run", "only failed runs", "only failed runs with a pass rate below 90 %". */
export function describeFilter(filter: WebhookFilter | null | undefined): string {
  const statuses = filter?.statuses;
  const below = filter?.below_pass_rate;
  if (!filter || ((!statuses || statuses.length === 0) && below === undefined)) return 'every finished run';
  const which =
    statuses && statuses.length > 0
      ? `${orList(FILTER_STATUSES.filter((s) => statuses.includes(s)))} runs`
      : 'runs';
  const rate = below === undefined ? '' : ` with a pass rate below ${formatPercent(below)}`;
  return `only ${which}${rate}`;
}

function orList(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function formatPercent(value: number): string {
  return `${Number.isInteger(value) ? value : Number(value.toFixed(2))} %`;
}

/** What the editor holds: ticked statuses, and the pass-rate threshold as typed. */
export interface FilterDraft {
  statuses: FilterStatus[];
  belowOn: boolean;
  below: string;
}

export function draftOf(filter: WebhookFilter | null | undefined): FilterDraft {
  return {
    statuses: [...(filter?.statuses ?? [])],
    belowOn: filter?.below_pass_rate !== undefined,
    below: filter?.below_pass_rate === undefined ? '90' : String(filter.below_pass_rate),
  };
}

/** The `filter` to send, or an error to show on the pass-rate field. No condition → null. */
export function filterOfDraft(draft: FilterDraft): { filter: WebhookFilter | null } | { error: string } {
  const filter: WebhookFilter = {};
  if (draft.statuses.length > 0) filter.statuses = FILTER_STATUSES.filter((s) => draft.statuses.includes(s));
  if (draft.belowOn) {
    const below = Number(draft.below.trim().replace(',', '.'));
    if (draft.below.trim() === '' || !Number.isFinite(below) || below <= 0 || below > 100) {
      return { error: 'Enter a pass rate above 0 and at most 100.' };
    }
    filter.below_pass_rate = below;
  }
  return { filter: Object.keys(filter).length === 0 ? null : filter };
}
