/**
 * The build leaves the CLI executable: the clone's `npx runhook` and the installed `runhook` run
 * dist/bin/runhook.js through its shebang, and the bundler writes it without the run bit
 * (docs/installing.md). `npm run build` and `prepack` are scripts/build.mjs with --force, which
 * compiles and then runs the same chmod step as without it: this checks the built dist/ and that
 * step, without recompiling everything while other test files run the CLI from dist/.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers/cli.js';

it('scripts/build.mjs marks dist/bin/runhook.js executable, and it runs through its shebang', () => {
  const { scripts, version: expected } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(scripts.build).toBe('node scripts/build.mjs --force');
  expect(scripts.prepack).toMatch(/&& node scripts\/build\.mjs --force$/);
  chmodSync(CLI, 0o644); // as a fresh bundle is
  // scripts/build.mjs itself (ensureBuilt runs it once per test process): dist/ is current, only
  // the chmod step has work.
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  expect(statSync(CLI).mode & 0o111).toBe(0o111);
  const version = execFileSync(CLI, ['--version'], { cwd: ROOT, encoding: 'utf8' }).trim();
  expect(version).toBe(expected);
  expect(statSync(join(ROOT, 'dist/web/index.html')).isFile()).toBe(true);
}, 120_000);
