/**
 * The optional parts of the test machine: a Chromium for the dashboard suites and Flask for the
 * Flask example. test/globalSetup.ts looks for them once per run and passes what it found to the
 * test files in environment variables; test/skipReport.ts prints, after the summary, what was
 * skipped and how to enable it. With CI=true nothing may be missing.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One part of the suite that did not run, for the closing banner. */
export interface Skipped {
  what: string;
  why: string;
  enable: string;
}

/** Set by test/globalSetup.ts: JSON list of Skipped. */
export const SKIPPED_ENV = 'RUNHOOK_TEST_SKIPPED';
/** Set by test/globalSetup.ts: the browser to launch, or '' when none was found. */
export const CHROMIUM_ENV = 'RUNHOOK_TEST_CHROMIUM';
/** Set by test/globalSetup.ts: '1' when `python3 -c 'import flask'` works, else ''. */
export const FLASK_ENV = 'RUNHOOK_TEST_FLASK';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

export type BrowserSearch = { path: string } | { path: null; why: string };

/**
 * Where Chromium is: `CHROMIUM_PATH` when set (and then only there), else `chromium` or
 * `chromium-browser` on PATH, Debian's /usr/bin/chromium, or the browser Playwright installed.
 */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<BrowserSearch> {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    return executable(chosen)
      ? { path: chosen }
      : { path: null, why: `CHROMIUM_PATH=${chosen} is not an executable file` };
  }
  const candidates = [onPath('chromium'), onPath('chromium-browser'), '/usr/bin/chromium'];
  try {
    const { chromium } = await import('playwright-core');
    candidates.push(chromium.executablePath());
  } catch {
    // playwright-core names no path for this platform: nothing more to try.
  }
  const found = candidates.find((path): path is string => path !== null && executable(path));
  return found
    ? { path: found }
    : {
        path: null,
        why: 'no chromium on PATH, no /usr/bin/chromium, no browser installed by Playwright',
      };
}

/** True when `python3 -c 'import flask'` succeeds. */
export function hasFlask(): boolean {
  const result = spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

export function skippedParts(env: NodeJS.ProcessEnv = process.env): Skipped[] {
  try {
    return JSON.parse(env[SKIPPED_ENV] ?? '[]') as Skipped[];
  } catch {
    return [];
  }
}
