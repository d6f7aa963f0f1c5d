import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';
import { openMigratedStore } from './database.js';
import { createHttpSender } from './delivery/httpClient.js';
import { createSendPipeline, type SendPipeline } from './delivery/sendPipeline.js';
import { generateApiKey, newApiKeyRecord } from './security/apiKeys.js';
import { redactSecretsInText } from './security/logRedaction.js';
import { createSecretBox, loadOrCreateKeyFile, type SecretBox } from './security/secretBox.js';
import type { Store } from './store/store.js';

/** What every command of one process shares, opened once by openRuntime and closed by closeRuntime. */
export interface Runtime {
  config: Config;
  store: Store;
  secretBox: SecretBox;
  /**
   * The one send path (docs/architecture.md#one-send-pipeline): the worker, Test Webhook, probes
   * and operator alerts all send through it.
   */
  send: SendPipeline;
  logger: Logger;
}

/** The runtime's clock and randomness; tests set a clock, commands leave both as they are. */
export interface RuntimeClock {
  now?: () => number;
  random?: () => number;
}

/**
 * Paths pino replaces with `[redacted]`. Fastify's request serializer leaves headers out already;
 * this holds even if a line logs a request's headers or an object with a secret.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.Authorization',
  'authorization',
  'secret',
  '*.secret',
  'body.secret',
  'req.body.secret',
  'apiKey',
  'api_key',
  '*.apiKey',
  '*.api_key',
  // An agent's provider config (docs/api.md#agents) is as secret as a webhook's.
  'config',
  'body.config',
  'req.body.config',
  'agent.config',
];

/** JSON lines on stdout (or `destination`, e.g. a test's stream), one object per line. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'runhook' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Keys and tokens inside text (a request URL's query string, a message) are caught on the
    // finished line, whichever field or child logger wrote them.
    hooks: { streamWrite: redactSecretsInText },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Opens the database (migrating it) and everything that every command needs. */
export async function openRuntime(
  config: Config,
  logger = createLogger(config),
  clock: RuntimeClock = {},
): Promise<Runtime> {
  const store = await openMigratedStore(config);
  const secretKey =
    config.secretKey ??
    (config.database.kind === 'sqlite' ? loadOrCreateKeyFile(config.database.path) : null);
  if (secretKey === null) throw new Error('RUNHOOK_SECRET_KEY is required with PostgreSQL');
  const sender = createHttpSender({
    allowedCidrs: config.allowedCidrs,
    onBlocked: (host, addresses) =>
      logger.warn({ host, addresses }, 'delivery refused: the webhook host resolves to a refused address'),
  });
  const secretBox = createSecretBox(secretKey);
  const send = createSendPipeline({ sender, secretBox, settings: config, ...clock });
  return { config, store, secretBox, send, logger };
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  await rt.send.close();
  await rt.store.close();
}

/**
 * On first start, with no organization yet: create `default` and return its API key, to be shown
 * once. RUNHOOK_BOOTSTRAP_API_KEY chooses the key instead of generating one.
 */
export async function bootstrapOrganization(
  rt: Runtime,
): Promise<{ orgId: string; apiKey: string; generated: boolean } | null> {
  if ((await rt.store.countOrganizations()) > 0) return null;
  const apiKey = rt.config.bootstrapApiKey ?? generateApiKey();
  let org: { id: string };
  try {
    org = await rt.store.createOrganization(
      'default',
      newApiKeyRecord(apiKey, 'bootstrap', null),
      Date.now(),
    );
  } catch (err) {
    // Another process starting at the same moment won the race: its organization stands.
    if ((await rt.store.countOrganizations()) > 0) return null;
    throw err;
  }
  return { orgId: org.id, apiKey, generated: rt.config.bootstrapApiKey === null };
}
