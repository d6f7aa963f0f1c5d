import type { FastifyInstance } from 'fastify';
import { createMetrics, metricsPlugin } from '../http/metrics.js';
import { openApiPlugin } from '../http/openapi.js';
import type { Runtime } from '../runtime.js';
import { setProcessMetrics } from './processMetrics.js';

/** OpenAPI (/openapi.json, /docs) and Prometheus (/metrics) for `runhook serve`. */
export function extraPlugins(rt: Runtime): Array<(app: FastifyInstance) => Promise<void> | void> {
  const metrics = createMetrics({ store: rt.store });
  setProcessMetrics(metrics);
  return [
    openApiPlugin({ publicUrl: rt.config.publicUrl }),
    metricsPlugin(metrics, { token: rt.config.metricsToken, logger: rt.logger }),
  ];
}
