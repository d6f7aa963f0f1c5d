import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config.js';
import type { Worker } from '../delivery/deliveryWorker.js';
import { createGroupSweep, type GroupSweep } from '../delivery/groupSweep.js';
import { createWorkerWithHealth } from '../delivery/workerWithHealth.js';
import { buildApp } from '../http/app.js';
import { createRetentionSweeper, type RetentionSweeper } from '../retention/sweeper.js';
import { bootstrapOrganization, closeRuntime, openRuntime, type Runtime } from '../runtime.js';
import { extraPlugins, healthMetrics, recordSweep, recordWorkerResults } from './plugins.js';

/**
 * The delivery worker of `runhook serve` (`leaseAhead`: it leases busy webhooks ahead) or of
 * `runhook worker` (not: scale-out workers share a busy webhook; docs/architecture.md#leasing-ahead).
 */
export function startWorker(rt: Runtime, options: { leaseAhead: boolean }): Worker {
  const worker = createWorkerWithHealth({
    leaseAhead: options.leaseAhead,
    store: rt.store,
    send: rt.send,
    settings: rt.config,
    config: rt.config,
    logger: rt.logger.child({ component: 'worker' }),
    onRecorded: recordWorkerResults,
    events: healthMetrics,
  });
  worker.start();
  return worker;
}

/** The retention sweeper, unless RUNHOOK_RETENTION=0 and RUNHOOK_RESULTS_RETENTION=0 keep everything. */
export function startRetention(rt: Runtime): RetentionSweeper | null {
  if (rt.config.retentionMs === null && rt.config.resultsRetentionMs === null) return null;
  const sweeper = createRetentionSweeper({
    store: rt.store,
    retentionMs: rt.config.retentionMs,
    resultsRetentionMs: rt.config.resultsRetentionMs,
    logger: rt.logger.child({ component: 'retention' }),
    onSwept: recordSweep,
  });
  sweeper.start();
  return sweeper;
}

/** The run-group sweep (docs/delivery.md#run-groups): every process runs one, with or without a worker. */
export function startGroupSweep(rt: Runtime): GroupSweep {
  const sweep = createGroupSweep({
    store: rt.store,
    windowMs: rt.config.groupWindowMs,
    publicUrl: rt.config.publicUrl,
    logger: rt.logger.child({ component: 'run-groups' }),
  });
  sweep.start();
  return sweep;
}

/** Stops cleanly on SIGTERM / SIGINT: no new claims, in-flight attempts finish or are released. */
export function onShutdown(rt: Runtime, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    rt.logger.info({ signal }, 'shutting down');
    stop()
      .then(() => closeRuntime(rt))
      .then(
        () => process.exit(0),
        (err) => {
          rt.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/**
 * Why the server could not bind, named by the variable to change (a bare `getaddrinfo ENOTFOUND`
 * says neither what nor where).
 */
export function listenError(err: unknown, config: Pick<Config, 'host' | 'port'>): Error {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ConfigError(
        'RUNHOOK_HOST',
        `"${config.host}" is neither an IP address nor a host name this machine can resolve; use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0 for all interfaces`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        'RUNHOOK_HOST',
        `${config.host} is not an address of this machine; use one it has, e.g. 127.0.0.1 or 0.0.0.0 for all interfaces`,
      );
    case 'EADDRINUSE':
      return new ConfigError(
        'RUNHOOK_PORT',
        `port ${config.port} on ${config.host} is already in use; stop what uses it or choose another port`,
      );
    case 'EACCES':
      return new ConfigError(
        'RUNHOOK_PORT',
        `port ${config.port} needs privileges this process does not have; choose a port above 1023`,
      );
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the API, the dashboard and (unless --no-worker) the delivery worker')
    .option('--no-worker', 'do not deliver webhooks from this process (run `runhook worker` elsewhere)')
    .action(async (opts: { worker: boolean }) => {
      const config = loadConfig();
      const rt = await openRuntime(config);
      const app = await buildApp({
        store: rt.store,
        config,
        secretBox: rt.secretBox,
        send: rt.send,
        logger: rt.logger,
        plugins: extraPlugins(rt),
      });
      try {
        await app.listen({ host: config.host, port: config.port });
      } catch (err) {
        await app.close().catch(() => {});
        await closeRuntime(rt).catch(() => {});
        throw listenError(err, config);
      }
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      // Only now, with the port bound: a start that fails earlier (port taken) must not create
      // the first organization without ever showing its key.
      const boot = await bootstrapOrganization(rt);
      const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
      const worker = opts.worker ? startWorker(rt, { leaseAhead: true }) : null;
      const retention = startRetention(rt);
      const groups = startGroupSweep(rt);
      process.stdout.write(
        `\nRunhook is listening on http://${shownHost}:${port} (${config.database.kind}${opts.worker ? ', with delivery worker' : ', no worker'})\n`,
      );
      if (boot) {
        process.stdout.write(
          boot.generated
            ? `\nCreated organization "default". Its API key, shown this once:\n\n    ${boot.apiKey}\n\nKeep it: Runhook stores only its hash. Try:\n    curl -H "Authorization: Bearer ${boot.apiKey}" http://${shownHost}:${port}/api/v1/agents\n\n`
            : '\nCreated organization "default" with the key from RUNHOOK_BOOTSTRAP_API_KEY.\n\n',
        );
      }
      onShutdown(rt, async () => {
        await retention?.stop();
        await groups.stop();
        await worker?.stop();
        await app.close();
      });
    });
}
