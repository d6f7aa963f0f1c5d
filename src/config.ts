import { isIP } from 'node:net';
import type { HealthPolicy } from './domain/health.js';
import { type Cidr, parseCidrList } from './domain/ipRules.js';
import { parseDuration, parseDurationList } from './domain/time.js';
import { checkSecret } from './domain/validateWebhook.js';

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `sqlite:./data/runhook.db`, `sqlite:/abs/path.db`, or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // The driver parses it later and would fail with a bare "Invalid URL": say which variable now.
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(
        'is not a valid URL: postgres://user:password@host:port/database, with special characters of the password percent-encoded',
      );
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw new Error('names no host');
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path.length === 0) throw new Error('the SQLite path is empty');
    return { kind: 'sqlite', path };
  }
  throw new Error('must start with sqlite: or postgres://');
}

/** Runhook's configuration, read once from the environment (docs/configuration.md). */
export interface Config {
  database: DatabaseTarget;
  host: string;
  port: number;
  publicUrl: string;
  bootstrapApiKey: string | null;
  retrySchedule: number[];
  retryJitter: number;
  attemptTimeoutMs: number;
  workerConcurrency: number;
  webhookConcurrency: number;
  /** Attempts in flight for one organization, across all workers (with orgBorrow: while not alone). */
  orgConcurrency: number;
  /**
   * `RUNHOOK_ORG_CONCURRENCY=auto` (the default): an organization alone with work may go past
   * orgConcurrency with the workers' idle slots (docs/operations.md#fairness-and-limits).
   */
  orgBorrow: boolean;
  allowedCidrs: Cidr[];
  secretKey: string | null;
  logLevel: string;
  metricsToken: string | null;
  /** How long a worker's claim lasts without renewal; a dead worker's deliveries come back after it. */
  claimLeaseMs: number;
  /** Requests per second per organization, all its keys together (bursts of twice that); 0 turns the limit off. */
  rateLimit: number;
  /** When a webhook counts as degraded, is turned off, and is probed (docs/receiving-webhooks.md). */
  health: HealthPolicy;
  /** Operator alerts on webhook health changes; null url = none. */
  alerts: {
    url: string | null;
    secret: string | null;
    format: 'standard' | 'slack';
    /** At most one alert per webhook in this time (ms); 0 sends every alert. */
    intervalMs: number;
  };
  /** How long finished deliveries (and their attempts and events) are kept; null keeps everything. */
  retentionMs: number | null;
  /** Manual sends (Test Webhook, redeliver, recover) per webhook per minute. */
  manualSendLimit: number;
  /** Scenario results one test run may hold. */
  maxResults: number;
  /** How long scenario results are kept; null keeps them. The run keeps counts, failures and changes. */
  resultsRetentionMs: number | null;
  /** How long a run group stays open with no run joining or finishing (docs/delivery.md#run-groups). */
  groupWindowMs: number;
}

const DAY_MS = 86_400_000;

/** A retention: a duration of at least 1 s, or 0 (null) to keep everything. */
function retention(text: string): number | null {
  if (text === '0') return null;
  const ms = parseDuration(text);
  if (ms === 0) return null;
  if (ms < 1_000) throw new Error('must be at least 1s, or 0 to keep everything');
  return ms;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const API_KEY_PATTERN = /^sk_live_[A-Za-z0-9]{40}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/**
 * Variables whose value is never printed, not even when it is wrong: keys, tokens, and the alert
 * URL (a Slack or Teams webhook URL is itself a credential).
 */
const SECRET_VARIABLES = new Set([
  'RUNHOOK_SECRET_KEY',
  'RUNHOOK_BOOTSTRAP_API_KEY',
  'RUNHOOK_METRICS_TOKEN',
  'RUNHOOK_ALERT_SECRET',
  'RUNHOOK_ALERT_URL',
]);

/**
 * A database URL with its password replaced, safe to print, even when the URL is malformed: a
 * password may hold `/`, `:` or `@`, so everything from the first `:` after `//` up to the last
 * `@` goes.
 */
export function redactDatabaseUrl(url: string): string {
  let out = url;
  const start = out.indexOf('//');
  const at = out.lastIndexOf('@');
  if (start !== -1 && at > start) {
    const colon = out.indexOf(':', start + 2);
    if (colon !== -1 && colon < at) out = `${out.slice(0, colon + 1)}***${out.slice(at)}`;
  }
  return out.replace(/(password=)[^&]*/gi, '$1***');
}

/** How a bad value is quoted in an error: as given, redacted, or not at all. */
function shownValue(name: string, raw: string): string {
  if (SECRET_VARIABLES.has(name)) return `the value, ${raw.length} characters, is not shown`;
  if (name === 'RUNHOOK_DATABASE_URL') return `got "${redactDatabaseUrl(raw)}"`;
  return `got "${raw}"`;
}

function read<T>(env: Env, name: string, fallback: T, parse: (text: string) => T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  try {
    return parse(raw.trim());
  } catch (err) {
    throw new ConfigError(name, `${(err as Error).message} (${shownValue(name, raw)})`);
  }
}

function notAuto(): never {
  throw new Error('must be auto or a whole number from 1 to 10000');
}

function integer(min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new Error(`must be a whole number from ${min} to ${max}`);
    const n = Number(text);
    if (n < min || n > max) throw new Error(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** `auto` or a number of attempts in flight (docs/configuration.md). */
function orgConcurrencyOf(t: string): number | 'auto' {
  if (t === 'auto') return 'auto';
  return /^\d+$/.test(t) ? integer(1, 10_000)(t) : notAuto();
}

/** Endpoint health and operator alerts (docs/receiving-webhooks.md); throws like loadConfig. */
function healthAndAlerts(env: Env): Pick<Config, 'health' | 'alerts'> {
  const degradedAfter = read(env, 'RUNHOOK_DEGRADED_AFTER', 3, integer(1, 1_000_000));
  const disableAfterFailures = read(env, 'RUNHOOK_DISABLE_AFTER_FAILURES', 10, integer(0, 1_000_000));
  const disableAfterMs = read(env, 'RUNHOOK_DISABLE_AFTER', 86_400_000, parseDuration);
  const probeSchedule = read(
    env,
    'RUNHOOK_PROBE_SCHEDULE',
    [600_000, 3_600_000, 21_600_000, 86_400_000],
    (t) => {
      const list = parseDurationList(t);
      if (list.length === 0 || list.length > 50) throw new Error('must list 1 to 50 delays');
      if (list.some((ms) => ms < 1)) throw new Error('every delay must be at least 1ms');
      return list;
    },
  );
  const alertUrl = read<string | null>(env, 'RUNHOOK_ALERT_URL', null, (t) => {
    const u = new URL(t);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL');
    return t;
  });
  // Never echoed in an error: it is a secret.
  const rawAlertSecret = env.RUNHOOK_ALERT_SECRET?.trim() || null;
  if (rawAlertSecret !== null && checkSecret(rawAlertSecret) !== null) {
    throw new ConfigError(
      'RUNHOOK_ALERT_SECRET',
      'must be 8 to 256 characters (whsec_ followed by base64, or any other text); the value is not shown',
    );
  }
  const alertFormat = read<'standard' | 'slack'>(env, 'RUNHOOK_ALERT_FORMAT', 'standard', (t) => {
    if (t !== 'standard' && t !== 'slack') throw new Error('must be standard or slack');
    return t;
  });
  const alertIntervalMs = read(env, 'RUNHOOK_ALERT_INTERVAL', 15 * 60_000, (t) => {
    if (t === '0') return 0;
    const ms = parseDuration(t);
    if (ms > 7 * 86_400_000) throw new Error('must be at most 7d, or 0 to send every alert');
    return ms;
  });
  return {
    health: { degradedAfter, disableAfterFailures, disableAfterMs, probeSchedule },
    alerts: { url: alertUrl, secret: rawAlertSecret, format: alertFormat, intervalMs: alertIntervalMs },
  };
}

/** Throws ConfigError naming the variable at the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const database = read(
    env,
    'RUNHOOK_DATABASE_URL',
    parseDatabaseUrl('sqlite:./data/runhook.db'),
    parseDatabaseUrl,
  );
  const host = read(env, 'RUNHOOK_HOST', '127.0.0.1', (t) => {
    if (isIP(t) === 0 && !HOST_NAME.test(t))
      throw new Error('must be an IP address of this machine (e.g. 127.0.0.1, 0.0.0.0, ::) or a host name');
    return t;
  });
  const port = read(env, 'RUNHOOK_PORT', 8080, integer(0, 65535));
  const publicUrl = read(env, 'RUNHOOK_PUBLIC_URL', '', (t) => {
    const u = new URL(t);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL');
    return t.replace(/\/+$/, '');
  });
  const bootstrapApiKey = read<string | null>(env, 'RUNHOOK_BOOTSTRAP_API_KEY', null, (t) => {
    if (!API_KEY_PATTERN.test(t)) throw new Error('must be sk_live_ followed by 40 letters and digits');
    return t;
  });
  const retrySchedule = read(env, 'RUNHOOK_RETRY_SCHEDULE', [60_000, 300_000, 1_800_000], (t) => {
    const list = parseDurationList(t);
    if (list.length > 50) throw new Error('at most 50 retries');
    return list;
  });
  const retryJitter = read(env, 'RUNHOOK_RETRY_JITTER', 0.1, (t) => {
    const n = Number(t);
    if (!/^\d*\.?\d+$/.test(t) || !Number.isFinite(n) || n < 0 || n > 1)
      throw new Error('must be a number from 0 to 1');
    return n;
  });
  const attemptTimeoutMs = read(env, 'RUNHOOK_ATTEMPT_TIMEOUT', 15_000, (t) => {
    const ms = parseDuration(t);
    if (ms < 1 || ms > 300_000) throw new Error('must be between 1ms and 5m');
    return ms;
  });
  const workerConcurrency = read(env, 'RUNHOOK_WORKER_CONCURRENCY', 64, integer(1, 10_000));
  const webhookConcurrency = read(env, 'RUNHOOK_WEBHOOK_CONCURRENCY', 8, integer(1, 10_000));
  // `auto` (the default): 32 while other organizations have work, the idle slots when alone.
  const orgLimit = read<number | 'auto'>(env, 'RUNHOOK_ORG_CONCURRENCY', 'auto', orgConcurrencyOf);
  const orgConcurrency = orgLimit === 'auto' ? 32 : orgLimit;
  const orgBorrow = orgLimit === 'auto';
  const allowedCidrs = read<Cidr[]>(env, 'RUNHOOK_ALLOWED_CIDRS', [], parseCidrList);
  const secretKey = read<string | null>(env, 'RUNHOOK_SECRET_KEY', null, (t) => {
    if (t.length < 32) throw new Error('must be at least 32 characters');
    return t;
  });
  if (database.kind === 'postgres' && secretKey === null) {
    throw new ConfigError(
      'RUNHOOK_SECRET_KEY',
      'is required with PostgreSQL (every API node and worker must share it); set a random string of at least 32 characters, e.g. `openssl rand -hex 32`',
    );
  }
  const logLevel = read(env, 'RUNHOOK_LOG_LEVEL', 'info', (t) => {
    if (!LOG_LEVELS.includes(t)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
    return t;
  });
  // A scraper sends the token as one bearer value: whitespace in it (a stray newline from a secret
  // file, a space) would make /metrics refuse every scrape, or accept an empty token.
  if (env.RUNHOOK_METRICS_TOKEN !== undefined && /\s/.test(env.RUNHOOK_METRICS_TOKEN)) {
    throw new ConfigError(
      'RUNHOOK_METRICS_TOKEN',
      'must not contain whitespace (spaces, tabs, newlines); the value is not shown',
    );
  }
  const metricsToken = read<string | null>(env, 'RUNHOOK_METRICS_TOKEN', null, (t) => t);
  const claimLeaseMs = read(env, 'RUNHOOK_CLAIM_LEASE', 10_000, (t) => {
    const ms = parseDuration(t);
    if (ms < 100 || ms > 30_000) throw new Error('must be between 100ms and 30s');
    return ms;
  });
  const rateLimit = read(env, 'RUNHOOK_RATE_LIMIT', 0, integer(0, 1_000_000));
  const { health, alerts } = healthAndAlerts(env);
  const retentionMs = read<number | null>(env, 'RUNHOOK_RETENTION', 30 * DAY_MS, retention);
  const manualSendLimit = read(env, 'RUNHOOK_MANUAL_SEND_LIMIT', 10, integer(1, 100_000));
  const maxResults = read(env, 'RUNHOOK_MAX_RESULTS', 10_000, integer(1, 1_000_000));
  const resultsRetentionMs = read<number | null>(env, 'RUNHOOK_RESULTS_RETENTION', 90 * DAY_MS, retention);
  const groupWindowMs = read(env, 'RUNHOOK_GROUP_WINDOW', 120_000, (t) => {
    const ms = parseDuration(t);
    if (ms < 10 || ms > 7 * DAY_MS) throw new Error('must be between 10ms and 7d');
    return ms;
  });
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    database,
    host,
    port,
    publicUrl: publicUrl || `http://${shownHost}:${port}`,
    bootstrapApiKey,
    retrySchedule,
    retryJitter,
    attemptTimeoutMs,
    workerConcurrency,
    webhookConcurrency,
    orgConcurrency,
    orgBorrow,
    allowedCidrs,
    secretKey,
    logLevel,
    metricsToken,
    claimLeaseMs,
    rateLimit,
    health,
    alerts,
    retentionMs,
    manualSendLimit,
    maxResults,
    resultsRetentionMs,
    groupWindowMs,
  };
}
