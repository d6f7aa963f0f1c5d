#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when needed: `runhook <command>` imports that one module, so
 * `runhook keys list` does not load Fastify or the worker first (docs/architecture.md#the-parts).
 * `runhook --help`, `runhook help` or an unknown name load them all, in this order, for the
 * listing and commander's suggestions.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServeCommand,
  worker: async () => (await import('./worker.js')).registerWorkerCommand,
  migrate: async () => (await import('./migrate.js')).registerMigrateCommand,
  orgs: async () => (await import('./orgs.js')).registerOrgsCommand,
  keys: async () => (await import('./keys.js')).registerKeysCommand,
  listen: async () => (await import('./listen.js')).registerListenCommand,
  report: async () => (await import('./report.js')).registerReportCommand,
  tail: async () => (await import('./tail.js')).registerTailCommand,
  webhooks: async () => (await import('./webhooks.js')).registerWebhookCommands,
};

/** The modules `argv` needs: none for `--version`, the named command's, or all of them. */
function commandsFor(argv: readonly string[]): Array<() => Promise<Register>> {
  const first = argv[0];
  if (first === '-V' || first === '--version') return [];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return [COMMANDS[first]!];
  return Object.values(COMMANDS);
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('runhook')
    .description('Runhook: signed, retried, logged webhooks for test results')
    .version(VERSION);
  for (const load of commandsFor(argv.slice(2))) (await load())(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  // A command's exitOverride (src/cli/report.ts): commander has printed the message already.
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`runhook: configuration error: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`runhook: ${(err as Error).message ?? err}\n`);
  process.exit(1);
});
