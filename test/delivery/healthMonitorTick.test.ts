/**
 * How often the endpoint-health monitor reads the database when there is nothing to do
 * (docs/architecture.md#endpoint-health): as often as the shortest delay it must honour, at most
 * once a second. A short retry schedule counts only where operator alerts are sent (their retries
 * follow it); without RUNHOOK_ALERT_URL it would have an idle worker poll for nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createHealthMonitor } from '../../src/delivery/healthMonitor.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, TEST_ENV, type TestContext } from '../helpers/context.js';
import { closedPort, wrapStoreMethod } from './support.js';

for (const backend of backends) {
  describe(`health monitor's idle reads [${backend.name}]`, () => {
    let ctx: TestContext;
    afterEach(async () => {
      await ctx?.close();
    });

    /** How many times the monitor looks for due probes in `ms`, with these settings. */
    async function probeReads(env: Record<string, string>, ms: number): Promise<number> {
      const config = loadConfig({ ...TEST_ENV, RUNHOOK_DATABASE_URL: ctx.db.url, ...env });
      let reads = 0;
      const store = wrapStoreMethod(ctx.rt.store, 'dueProbes', (original) => (input) => {
        reads++;
        return original(input);
      });
      const monitor = createHealthMonitor({
        store,
        send: ctx.rt.send,
        config,
        logger: ctx.rt.logger,
      });
      monitor.start();
      await sleep(ms);
      await monitor.stop();
      return reads;
    }

    it('a 50 ms retry schedule without an alert URL: about once a second; with one: every 50 ms', async () => {
      ctx = await createTestContext(backend);
      // TEST_ENV's retry schedule is 50 ms; its probe schedule is the default (minutes).
      expect(TEST_ENV.RUNHOOK_RETRY_SCHEDULE.startsWith('50ms')).toBe(true);
      // Both monitors at once, each counting its own reads: the same 1.5 s serves both.
      const alertUrl = `http://127.0.0.1:${await closedPort()}/alerts`;
      const [quiet, alerting] = await Promise.all([
        probeReads({}, 1_500),
        probeReads({ RUNHOOK_ALERT_URL: alertUrl }, 1_500),
      ]);
      expect(quiet).toBeGreaterThanOrEqual(1);
      expect(quiet).toBeLessThanOrEqual(3);
      expect(alerting).toBeGreaterThanOrEqual(10);
    }, 30_000);
  });
}
