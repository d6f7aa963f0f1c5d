import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/bin/runhook.js');

let checked = false;

/**
 * Builds what of dist/ is older than its sources (scripts/build.mjs, which `npm test` and
 * test/globalSetup.ts have just run; this covers a file run outside them). Once per test process:
 * the check hashes every source file, and the files of one process run one after another.
 */
export function ensureBuilt(): void {
  if (checked) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  checked = true;
}

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves when stdout+stderr contain `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: Record<string, string>, cwd = ROOT): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  });
  let out = '';
  const listeners: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 15_000) {
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      if (has()) return Promise.resolve(out);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${text}; output so far:\n${out}`)),
          timeoutMs,
        );
        const check = () => {
          if (has()) {
            clearTimeout(timer);
            listeners.splice(listeners.indexOf(check), 1);
            resolve(out);
          }
        };
        listeners.push(check);
        void exited.then(() => {
          if (!has()) {
            clearTimeout(timer);
            reject(new Error(`process exited before printing ${text}; output:\n${out}`));
          }
        });
      });
    },
  };
}
