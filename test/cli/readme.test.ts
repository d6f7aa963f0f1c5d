/**
 * README.md read as a new user reads it: its first screen run as written (curl, sed and
 * `runhook listen` against a real `runhook serve`), its payload example set beside a real delivery,
 * and its CLI and configuration tables set beside `runhook --help` and src/config.ts.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/freePort.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RealServer, startRealServer } from '../sdk/realServer.js';

const README = readFileSync(`${ROOT}README.md`, 'utf8');
const execFileAsync = promisify(execFile);
const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** The fenced blocks of a language, in order. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
}

/** The rows of the table under `## <heading>`, as their first cells. */
function firstCells(heading: string): string[] {
  const section = README.split(`\n## ${heading}\n`)[1]!.split('\n## ')[0]!;
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split(' | ')[0]!.slice(2));
}

/** The JSON object a line starts with (curl prints no newline, so other output may follow it). */
function firstJson(line: string): any {
  for (let end = line.indexOf('}'); end !== -1; end = line.indexOf('}', end + 1)) {
    try {
      return JSON.parse(line.slice(0, end + 1));
    } catch {}
  }
  throw new Error(`no JSON object at the start of ${line}`);
}

const help = async (...args: string[]) =>
  (await execFileAsync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' })).stdout;

/** Command names listed under "Commands:" in a help text, without commander's own `help`. */
const commandsIn = (text: string) =>
  [...(text.split('Commands:\n')[1] ?? '').matchAll(/^ {2}(\S+)/gm)]
    .map((m) => m[1]!)
    .filter((c) => c !== 'help');

/** Long options listed in a help text, without `--help`. */
const optionsIn = (text: string) =>
  [...text.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!).filter((o) => o !== '--help');

describe('README.md', () => {
  let server: RealServer | null = null;
  let receiver: Receiver | null = null;
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(async () => {
    await server?.stop();
    await receiver?.close();
    server = null;
    receiver = null;
  });

  it.skipIf(!hasCurl)(
    'the first screen, run as written, delivers a run that runhook listen verifies; the payload example has its keys',
    async () => {
      // A fast retry schedule only so that a slow machine still ends in a delivery, not a 1-minute wait.
      server = await startRealServer({ env: { RUNHOOK_RETRY_SCHEDULE: '500ms,500ms,500ms' } });
      receiver = await startReceiver();
      // A second org-level webhook records the body byte for byte, to set beside the README's example.
      const hook = await server.api('POST', '/webhooks', { url: receiver.url });
      expect(hook.status).toBe(201);

      const demo = blocks('sh').find((b) => b.includes('runhook listen'));
      expect(demo).toBeDefined();
      const listenPort = await freePort();
      const origin = new URL(server.baseUrl).host;
      const script = `${demo!
        .replaceAll('sk_live_...', server.apiKey)
        .replaceAll('npx runhook', `"${process.execPath}" "${CLI}"`)
        .replaceAll('localhost:8080', origin)
        .replaceAll('9000', String(listenPort))}\necho "listen pid $!"\n`;
      const shell = spawn('bash', ['-e', '-c', script], { env: { PATH: process.env.PATH ?? '' } });
      let out = '';
      shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
      shell.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
      const listenPid = Number(/listen pid (\d+)/.exec(out)?.[1]);
      try {
        expect(code, out).toBe(0);
        // Step 3 printed the run's delivery; listen printed the run and verified both signatures.
        const delivery = firstJson(out.split('\n').findLast((l) => l.startsWith('{"id"'))!);
        expect(delivery.event.type).toBe('test_run_completed');
        expect(delivery.payload.test_run).toMatchObject({
          name: 'Nightly',
          passed_count: 17,
          failed_count: 3,
        });
        const deadline = Date.now() + 30_000;
        while (
          !/signatures: webhook-signature: ok; x-runhook-signature: ok/.test(out) &&
          Date.now() < deadline
        ) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(out).toMatch(/run=TR-00001 status=completed/);
        expect(out).toMatch(/signatures: webhook-signature: ok; x-runhook-signature: ok/);
      } finally {
        if (listenPid > 0) process.kill(listenPid);
      }

      await receiver.waitFor(1);
      const received = JSON.parse(receiver.requests[0]!.body);
      const example = JSON.parse(blocks('json').find((b) => b.includes('"test_run_completed"'))!);
      expect(Object.keys(example)).toEqual(Object.keys(received));
      expect(Object.keys(example.test_run)).toEqual(Object.keys(received.test_run));
      expect(example.changes).toBe(received.changes);
    },
    90_000,
  );

  it('the CLI table names every command, subcommand and option that runhook --help lists', {
    timeout: 240_000,
  }, async () => {
    const rows = firstCells('CLI');
    const top = commandsIn(await help());
    expect(top.length).toBeGreaterThanOrEqual(9);
    // Each help text is its own process: all of a level at once, each text read once.
    const named = await Promise.all(
      top.map(async (command) => {
        const text = await help(command);
        const subcommands = commandsIn(text);
        if (subcommands.length === 0) return [{ name: command, text }];
        return Promise.all(
          subcommands.map(async (s) => ({ name: `${command} ${s}`, text: await help(command, s) })),
        );
      }),
    );
    for (const { name, text } of named.flat()) {
      const row = rows.find((r) => r.startsWith(`\`${name} `) || r.startsWith(`\`${name}\``));
      expect(row, `README's CLI table has no row for \`${name}\``).toBeDefined();
      for (const option of optionsIn(text)) {
        expect(row, `README's row for \`${name}\` does not name ${option}`).toContain(option);
      }
    }
  });

  it('the configuration table names every variable src/config.ts reads', () => {
    const source = readFileSync(`${ROOT}src/config.ts`, 'utf8');
    const variables = [...new Set([...source.matchAll(/'(RUNHOOK_[A-Z_]+)'/g)].map((m) => m[1]!))];
    const table = firstCells('Configuration').join(' ');
    expect(variables.filter((v) => !table.includes(`\`${v}\``))).toEqual([]);
  });
});
