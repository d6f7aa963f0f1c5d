#!/usr/bin/env node
/**
 * Builds dist/: the TypeScript compiler for the server, tests, bench and SDK, then Vite for the
 * dashboard, then the `runhook` command bundled (scripts/bundle.mjs). Each part is rebuilt only
 * when its sources differ from the ones of its last build (a hash of their contents, kept in
 * dist/.build-<part>), so `npm start` and `npm test` start at once when dist/ is current. `--force` builds every part whatever the hash says (`npm run build`).
 *
 * Plain JavaScript on purpose: it has to run before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lockfiles = ['package.json', 'package-lock.json'];

/** What each part reads, what it runs, and a file whose absence means it never finished. */
const parts = [
  {
    name: 'server',
    inputs: ['src', 'test', 'bench', 'sdk', 'tsconfig.json', ...lockfiles],
    command: ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'],
    output: 'dist/src/cli/main.js',
  },
  {
    name: 'web',
    // The dashboard bundles src/domain (the payload renderers of its previews, the value lists).
    inputs: ['web', 'src/domain', ...lockfiles],
    command: ['node_modules/vite/bin/vite.js', 'build', 'web', '--emptyOutDir', '--logLevel', 'warn'],
    output: 'dist/web/index.html',
  },
  {
    name: 'bin',
    // The `runhook` command, bundled with its dependencies (scripts/bundle.mjs).
    inputs: ['src', 'scripts/bundle.mjs', 'tsconfig.json', ...lockfiles],
    command: ['scripts/bundle.mjs'],
    output: 'dist/bin/runhook.js',
  },
];

const skipped = new Set(['node_modules', 'dist']);

function isDirectory(path) {
  try {
    return statSync(join(root, path)).isDirectory();
  } catch {
    return false;
  }
}

/** Every file of an input (a folder or one file), sorted, so the hash ignores the directory order. */
function files(input) {
  const full = join(root, input);
  if (!existsSync(full)) return [];
  if (!isDirectory(input)) return [input];
  return readdirSync(full, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)))
    .filter((p) => !p.split('/').some((segment) => skipped.has(segment)))
    .sort();
}

function sourceHash(inputs) {
  const hash = createHash('sha256');
  for (const input of inputs) {
    for (const file of files(input)) {
      hash.update(file);
      hash.update('\0');
      hash.update(readFileSync(join(root, file)));
      hash.update('\0');
    }
  }
  return hash.digest('hex');
}

const force = process.argv.includes('--force');
mkdirSync(join(root, 'dist'), { recursive: true });

for (const part of parts) {
  const stamp = join(root, 'dist', `.build-${part.name}`);
  const hash = sourceHash(part.inputs);
  const current =
    !force &&
    existsSync(join(root, part.output)) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === hash;
  if (current) continue;
  rmSync(stamp, { force: true });
  process.stderr.write(`building ${part.name} (sources changed since dist/ was built)\n`);
  const result = spawnSync(process.execPath, part.command, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // dist/web is the dashboard Vite built, served file by file. The tests import the dashboard's
  // generated API types, so tsc also writes them under dist/web/src: not part of the dashboard.
  if (part.name === 'server') rmSync(join(root, 'dist/web/src'), { recursive: true, force: true });
  // The hash of the sources read before the build: an edit made during it triggers the next one.
  writeFileSync(stamp, `${hash}\n`);
}

// The bundle is written without the run bit; `npx runhook` (bin) needs it (docs/installing.md). Set
// on every run, built or current: a dist/ that lost it gets it back without a rebuild.
chmodSync(join(root, 'dist/bin/runhook.js'), 0o755);
