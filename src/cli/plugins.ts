import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import type { DeliveryResult } from '../store/store.js';

/** Metrics and OpenAPI plug in here (see src/http/metrics.ts, src/http/openapi.ts when present). */
export function extraPlugins(_rt: Runtime): Array<(app: FastifyInstance) => Promise<void> | void> {
  return [];
}

export function recordWorkerResults(_results: readonly DeliveryResult[]): void {}
