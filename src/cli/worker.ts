import type { Command } from 'commander';
import { loadConfig } from '../config.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run only the delivery worker (several may share one database)')
    .action(async () => {
      // The configuration first: a bad variable stops the start before the worker's modules load.
      const config = loadConfig();
      const [{ openRuntime }, { onShutdown, startGroupSweep, startRetention, startWorker }] =
        await Promise.all([import('../runtime.js'), import('./workerProcess.js')]);
      const rt = await openRuntime(config);
      const worker = startWorker(rt, { leaseAhead: false });
      const retention = startRetention(rt);
      const groups = startGroupSweep(rt);
      // Before saying it started: a SIGTERM sent on that line stops the worker cleanly.
      onShutdown(rt, async () => {
        await retention?.stop();
        await groups.stop();
        await worker.stop();
      });
      rt.logger.info({ worker_id: worker.id, database: rt.config.database.kind }, 'worker started');
      process.stdout.write(`Runhook worker ${worker.id} started (${rt.config.database.kind})\n`);
    });
}
