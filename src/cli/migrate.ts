import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { closeRuntime, openRuntime } from '../runtime.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const rt = await openRuntime(loadConfig());
      await closeRuntime(rt);
      process.stdout.write(`migrations applied (${rt.config.database.kind})\n`);
    });
}
