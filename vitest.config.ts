import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

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
    // app and servers and closes them).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ['test/globalSetup.ts'],
    // The default output, then what was skipped on this machine and how to enable it.
    reporters: ['default', './test/skipReport.ts'],
  },
});
