/**
 * What `runhook serve` runs once its configuration is valid. Kept apart from the command so that a
 * start with a bad variable exits before Fastify and the store are loaded
 * (docs/architecture.md#the-parts).
 */
import { type Config, ConfigError } from '../config.js';
import { buildApp } from '../http/app.js';
import { bootstrapOrganization, closeRuntime, openRuntime } from '../runtime.js';
import { extraPlugins } from './plugins.js';
import { onShutdown, startGroupSweep, startRetention, startWorker } from './workerProcess.js';

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

/** `runhook serve`: the API and dashboard, with the delivery worker unless `worker` is false. */
export async function runServe(config: Config, opts: { worker: boolean }): Promise<void> {
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
}
