import type { Page } from '../store/store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (text: string): boolean => UUID.test(text);

export const MAX_LIMIT = 100;

/** limit defaults to 20 and is held to 100; the answer echoes the limit actually used. */
export function pageOf(query: { limit?: number; offset?: number }): Page {
  return { limit: Math.min(query.limit ?? 20, MAX_LIMIT), offset: query.offset ?? 0 };
}
