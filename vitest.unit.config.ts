/**
 * `npm run test:unit`: the test files that need no database server, no browser and no child
 * process, in well under a minute. Which files those are is read from their imports, so a new test
 * file lands in the right tier without a list to keep: a file is left out when it, or a helper it
 * imports from test/, imports one of NEEDS_MORE below. SQLite files and HTTP servers on 127.0.0.1
 * are fine here. `npm test` (vitest.config.ts) still runs everything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

/** Imports that mean a database server, a browser or a child process. */
const NEEDS_MORE = [
  /^pg$/, // the PostgreSQL half of every suite
  /helpers\/backends\.js$/, // one run per backend, PostgreSQL included
  /^node:child_process$/,
  /^playwright-core$/,
];

const importPattern =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(importPattern)].map((m) => (m[1] ?? m[2])!);
}

const verdicts = new Map<string, boolean>();

/** True when `file` or a test helper it imports (transitively) needs more than this process. */
function needsMore(file: string): boolean {
  const known = verdicts.get(file);
  if (known !== undefined) return known;
  verdicts.set(file, false); // an import cycle ends here
  let verdict = false;
  for (const spec of importsOf(file)) {
    if (NEEDS_MORE.some((pattern) => pattern.test(spec))) verdict = true;
    else if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      // Only the test helpers are followed: what src/ imports is not started by importing it.
      if (target.startsWith(join(root, 'test')) && needsMore(target)) verdict = true;
    }
    if (verdict) break;
  }
  verdicts.set(file, verdict);
  return verdict;
}

function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const unitFiles = [...testFiles('test'), ...testFiles('sdk')]
  .filter((file) => !needsMore(file))
  .map((file) => relative(root, file))
  .sort();

export default defineConfig({
  test: {
    include: unitFiles,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
