/**
 * `npm run build` (which `prepack` runs after deleting dist/) leaves the CLI executable: the clone's
 * `npx runhook` and the installed `runhook` run dist/src/cli/main.js through its shebang, and a
 * file tsc writes anew has no run bit (docs/installing.md).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, ensureBuilt, ROOT } from '../helpers/cli.js';
import { npmEnv } from '../helpers/packages.js';

it('npm run build marks dist/src/cli/main.js executable, and it runs through its shebang', () => {
  ensureBuilt();
  chmodSync(CLI, 0o644); // as a fresh tsc output is
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, env: npmEnv({}), stdio: 'pipe' });
  expect(statSync(CLI).mode & 0o111).toBe(0o111);
  const version = execFileSync(CLI, ['--version'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const { version: expected } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(version).toBe(expected);
  expect(statSync(join(ROOT, 'dist/web/index.html')).isFile()).toBe(true);
}, 240_000);
