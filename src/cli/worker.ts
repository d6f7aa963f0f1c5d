import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openRuntime } from '../runtime.js';
import { onShutdown, startGroupSweep, startRetention, startWorker } from './serve.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run only the delivery worker (several may share one database)')
    .action(async () => {
      const rt = await openRuntime(loadConfig());
      const worker = startWorker(rt, { leaseAhead: false });
      const retention = startRetention(rt);
      const groups = startGroupSweep(rt);
      rt.logger.info({ worker_id: worker.id, database: rt.config.database.kind }, 'worker started');
      process.stdout.write(`Runhook worker ${worker.id} started (${rt.config.database.kind})\n`);
      onShutdown(rt, async () => {
        await retention?.stop();
        await groups.stop();
        await worker.stop();
      });
    });
}
