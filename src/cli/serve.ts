import type { Command } from 'commander';
import { loadConfig } from '../config.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the API, the dashboard and (unless --no-worker) the delivery worker')
    .option('--no-worker', 'do not deliver webhooks from this process (run `runhook worker` elsewhere)')
    .action(async (opts: { worker: boolean }) => {
      // The configuration first: a bad variable stops the start before the server's modules load.
      const config = loadConfig();
      const { runServe } = await import('./serveProcess.js');
      await runServe(config, opts);
    });
}
