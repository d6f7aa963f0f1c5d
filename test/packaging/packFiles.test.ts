/**
 * What docs/installing.md promises is in the server tarball: README with the screenshots it shows,
 * CHANGELOG, LICENSE and docs/. `npm pack --dry-run` lists the files without building anything.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../helpers/cli.js';
import { npmEnv } from '../helpers/packages.js';

it('the tarball holds CHANGELOG.md and every screenshot the README shows', () => {
  ensureBuilt();
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    env: npmEnv({}),
    encoding: 'utf8',
  });
  const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1]!);
  expect(images.length).toBeGreaterThan(0);
  expect(files).toEqual(expect.arrayContaining(['CHANGELOG.md', 'README.md', 'LICENSE', ...images]));
  const installing = readFileSync(join(ROOT, 'docs/installing.md'), 'utf8');
  expect(installing).toMatch(/README[^.]*screenshots/);
  expect(installing).toContain('CHANGELOG');
});
