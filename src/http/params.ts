import type { Page } from '../store/store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (text: string): boolean => UUID.test(text);

export const MAX_LIMIT = 100;
/** Far beyond any list, and well inside what both databases take as OFFSET. */
export const MAX_OFFSET = 1_000_000_000;

/** limit (1–100, default 20) and offset (default 0), already range-checked by the query schema. */
export function pageOf(query: { limit?: number; offset?: number }): Page {
  return { limit: query.limit ?? 20, offset: query.offset ?? 0 };
}
