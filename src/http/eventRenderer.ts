import { renderBody, type StandardPayload, standardPayload } from '../domain/payloads.js';
import type { EventRenderer } from '../store/store.js';

/** What the store calls, inside the finishing transaction, to write an event and its delivery bodies. */
export function createEventRenderer(publicUrl: string): EventRenderer {
  return {
    standardPayload: (run, eventCreatedAt) => JSON.stringify(standardPayload(run, eventCreatedAt, publicUrl)),
    body: (format, payload, eventCreatedAt) =>
      format === 'standard'
        ? payload
        : renderBody(format, JSON.parse(payload) as StandardPayload, eventCreatedAt),
  };
}
