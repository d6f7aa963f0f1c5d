/**
 * The two npm packages this repository makes, packed and installed the way a user does it:
 * `npm pack` (the server) and `npm pack ./sdk` (@runhook/sdk), installed into empty folders.
 * Used by test/packaging/install.test.ts and test/examples/examples.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './cli.js';

/**
 * The environment for a child npm: without the npm_* variables `npm test` exports (its
 * npm_config_local_prefix would make the child treat this repository as its project).
 */
export function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', stdio: 'pipe', timeout: 240_000 });
}

/** One file of an `npm pack --json` listing. */
interface PackResult {
  filename: string;
  files: { path: string }[];
}

function pack(args: string[], destination: string): { tarball: string; files: string[] } {
  const [result] = JSON.parse(
    npm(['pack', ...args, '--json', '--pack-destination', destination], ROOT),
  ) as PackResult[];
  return { tarball: join(destination, result!.filename), files: result!.files.map((f) => f.path) };
}

/**
 * `npm pack ./sdk`, done on a copy of sdk/ so that test files packing at the same time never see
 * each other's half-written sdk/dist: the copy is compiled the way its prepack does, then packed.
 */
export function packSdk(destination: string) {
  const copy = join(destination, 'sdk-source');
  mkdirSync(copy, { recursive: true });
  for (const file of readdirSync(join(ROOT, 'sdk'))) {
    if (file === 'package.json' || file === 'README.md' || file === 'LICENSE' || file === 'tsconfig.json')
      copyFileSync(join(ROOT, 'sdk', file), join(copy, file));
    else if (file.endsWith('.ts') && !file.endsWith('.test.ts'))
      copyFileSync(join(ROOT, 'sdk', file), join(copy, file));
  }
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      ...['-p', join(copy, 'tsconfig.json'), '--typeRoots', join(ROOT, 'node_modules/@types')],
    ],
    { stdio: 'pipe' },
  );
  const [result] = JSON.parse(
    npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], copy),
  ) as PackResult[];
  return { tarball: join(destination, result!.filename), files: result!.files.map((f) => f.path) };
}

/**
 * `npm pack` of the server. Its prepack (a clean build) is skipped: ensureBuilt() brings dist/ up
 * to date instead, which spares the slowest minute of the suite.
 */
export function packServer(destination: string) {
  ensureBuilt();
  return pack(['--ignore-scripts'], destination);
}

/** An empty project folder with `tarballs` installed from disk, no registry needed (no dependencies). */
export function installOffline(dir: string, tarballs: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  npm(['install', '--offline', '--no-audit', '--no-fund', ...tarballs], dir);
}

/**
 * `npm install -g --prefix <prefix> <server tarball>`: dependencies from the npm cache where it has
 * them (`--prefer-offline`; package metadata may still come from the registry). Install scripts are
 * skipped, so better-sqlite3 neither downloads a prebuilt binary nor compiles for minutes: the
 * module this checkout already built (same pinned version) is copied in instead.
 */
/** Answers everything npm printed (stdout and stderr), e.g. to look for EBADENGINE. */
export function installServerGlobally(prefix: string, tarball: string): string {
  mkdirSync(prefix, { recursive: true });
  const args = [
    'install',
    '-g',
    '--prefix',
    prefix,
    '--prefer-offline',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
  ];
  const result = spawnSync('npm', [...args, tarball], {
    cwd: prefix,
    env: npmEnv(),
    encoding: 'utf8',
    timeout: 240_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`npm install -g failed (${result.status}):\n${output}`);
  const built = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const target = join(prefix, 'lib/node_modules/runhook', built);
  mkdirSync(join(target, '..'), { recursive: true });
  copyFileSync(join(ROOT, built), target);
  return output;
}
