import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * vitest's order (failed first, then longest first when its cache knows the durations, else
 * largest file first), with the test/scale files, the longest of the suite, moved to the front
 * and spread out: one every other file. A clean clone (CI) has no durations, and there a
 * 30-second scale file queued last kept one fork running alone at the end while the other idled.
 * Spread, so that the two forks do not both run several worker processes at once.
 */
class ScaleFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isScale = (f: TestSpecification) => f.moduleId.replaceAll('\\', '/').includes('/test/scale/');
    const scale = sorted.filter(isScale);
    const rest = sorted.filter((f) => !isScale(f));
    const order: TestSpecification[] = [];
    while (scale.length > 0 || rest.length > 0) {
      const next = scale.shift();
      if (next) order.push(next);
      const other = rest.shift();
      if (other) order.push(other);
    }
    return order;
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'sdk/**/*.test.ts'],
    pool: 'forks',
    // Most files wait (on child processes, PostgreSQL, receivers, Chromium) more than they compute:
    // one fork per core keeps a 2-core machine busy, where vitest's default (cores - 1) ran one file
    // at a time. One more fork was faster still but made the timing tests (a worker's start within
    // its deadline, a slow receiver isolated within 500 ms) fail on a loaded machine.
    maxWorkers: availableParallelism(),
    // A fork runs file after file without reloading the modules each imports (Fastify, Kysely, the
    // store): no test file sets global state that another could see (each opens its own database,
    // app and servers and closes them; the dashboard files share one Chromium, each in its own
    // browser context: test/web/harness.ts).
    isolate: false,
    sequence: { sequencer: ScaleFilesFirst },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ['test/globalSetup.ts'],
    // The default output, then what was skipped on this machine and how to enable it.
    reporters: ['default', './test/skipReport.ts'],
  },
});
