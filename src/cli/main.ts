#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { VERSION } from '../version.js';
import { registerKeysCommand } from './keys.js';
import { registerListenCommand } from './listen.js';
import { registerMigrateCommand } from './migrate.js';
import { registerOrgsCommand } from './orgs.js';
import { registerReportCommand } from './report.js';
import { registerServeCommand } from './serve.js';
import { registerTailCommand } from './tail.js';
import { registerWebhookCommands } from './webhooks.js';
import { registerWorkerCommand } from './worker.js';

const program = new Command()
  .name('runhook')
  .description('Runhook: signed, retried, logged webhooks for test results')
  .version(VERSION);

registerServeCommand(program);
registerWorkerCommand(program);
registerMigrateCommand(program);
registerOrgsCommand(program);
registerKeysCommand(program);
registerListenCommand(program);
registerReportCommand(program);
registerTailCommand(program);
registerWebhookCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`runhook: configuration error: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`runhook: ${(err as Error).message ?? err}\n`);
  process.exit(1);
});
