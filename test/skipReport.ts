/**
 * A vitest reporter (after the default one) that ends every run by saying, loudly, which parts
 * of the suite did not run on this machine and how to enable them (see test/globalSetup.ts), and
 * which files had skipped tests. Silent when everything ran.
 */
import type { Reporter, TestModule } from 'vitest/node';
import { skippedParts } from './helpers/environment.js';

function skippedTests(modules: ReadonlyArray<TestModule>): Map<string, number> {
  const perFile = new Map<string, number>();
  for (const module of modules) {
    let count = 0;
    for (const test of module.children.allTests()) if (test.result().state === 'skipped') count++;
    if (count > 0) perFile.set(module.relativeModuleId, count);
  }
  return perFile;
}

export default class SkipReport implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const parts = skippedParts();
    const files = skippedTests(modules);
    if (parts.length === 0 && files.size === 0) return;
    const lines = ['NOT EVERYTHING RAN. This machine lacks:'];
    for (const part of parts) {
      lines.push(`  - ${part.what}: SKIPPED`, `      why: ${part.why}`, `      enable: ${part.enable}`);
    }
    if (files.size > 0) {
      lines.push('Skipped tests per file:');
      for (const [file, count] of files) lines.push(`  - ${file}: ${count}`);
    }
    lines.push('With CI=true (as in .ci/run) every part is required and a missing one fails the run.');
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n`);
  }
}
