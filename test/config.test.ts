import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactDatabaseUrl } from '../src/config.js';

describe('loadConfig', () => {
  /** A value for every variable, each different from its default. */
  const everyVariable = {
    RUNHOOK_DATABASE_URL: 'postgres://u@h:5432/db',
    RUNHOOK_HOST: '0.0.0.0',
    RUNHOOK_PORT: '9000',
    RUNHOOK_PUBLIC_URL: 'https://hooks.example.com/',
    RUNHOOK_BOOTSTRAP_API_KEY: `sk_live_${'A1'.repeat(20)}`,
    RUNHOOK_RETRY_SCHEDULE: '10s, 1m,2h',
    RUNHOOK_RETRY_JITTER: '0',
    RUNHOOK_ATTEMPT_TIMEOUT: '500ms',
    RUNHOOK_WORKER_CONCURRENCY: '8',
    RUNHOOK_WEBHOOK_CONCURRENCY: '2',
    RUNHOOK_ALLOWED_CIDRS: '127.0.0.0/8, ::1/128',
    RUNHOOK_SECRET_KEY: 'k'.repeat(32),
    RUNHOOK_LOG_LEVEL: 'debug',
    RUNHOOK_METRICS_TOKEN: 'scrape-token',
    RUNHOOK_CLAIM_LEASE: '2s',
    RUNHOOK_RATE_LIMIT: '50',
    RUNHOOK_DEGRADED_AFTER: '5',
    RUNHOOK_DISABLE_AFTER_FAILURES: '0',
    RUNHOOK_DISABLE_AFTER: '2h',
    RUNHOOK_PROBE_SCHEDULE: '1m, 30m',
    RUNHOOK_ALERT_URL: 'http://10.0.0.5:9000/alerts',
    RUNHOOK_ALERT_SECRET: 'alert-secret-value',
    RUNHOOK_ALERT_FORMAT: 'slack',
    RUNHOOK_ALERT_INTERVAL: '1h',
    RUNHOOK_RETENTION: '90d',
    RUNHOOK_MANUAL_SEND_LIMIT: '3',
    RUNHOOK_ORG_CONCURRENCY: '16',
    RUNHOOK_MAX_RESULTS: '500',
    RUNHOOK_RESULTS_RETENTION: '30d',
    RUNHOOK_GROUP_WINDOW: '5m',
  };

  it('has the defaults of docs/configuration.md', () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ kind: 'sqlite', path: './data/runhook.db' });
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect(c.retrySchedule).toEqual([60_000, 300_000, 1_800_000]);
    expect(c.retryJitter).toBe(0.1);
    expect(c.attemptTimeoutMs).toBe(15_000);
    expect(c.workerConcurrency).toBe(64);
    expect(c.webhookConcurrency).toBe(8);
    expect(c.allowedCidrs).toEqual([]);
    expect(c.secretKey).toBeNull();
    expect(c.logLevel).toBe('info');
    expect(c.claimLeaseMs).toBe(10_000);
    expect(c.orgConcurrency).toBe(32);
    expect(c.orgBorrow).toBe(true);
    expect(loadConfig({ RUNHOOK_ORG_CONCURRENCY: 'auto' }).orgBorrow).toBe(true);
    expect(c.bootstrapApiKey).toBeNull();
    expect(c.metricsToken).toBeNull();
    expect(c.rateLimit).toBe(0);
    expect(c.health).toEqual({
      degradedAfter: 3,
      disableAfterFailures: 10,
      disableAfterMs: 86_400_000,
      probeSchedule: [600_000, 3_600_000, 21_600_000, 86_400_000],
    });
    expect(c.alerts).toEqual({ url: null, secret: null, format: 'standard', intervalMs: 900_000 });
    expect(Object.keys(c).sort()).toEqual(Object.keys(loadConfig(everyVariable)).sort());
    expect(c.retentionMs).toBe(30 * 24 * 3_600_000);
    expect(c.manualSendLimit).toBe(10);
    expect(c.maxResults).toBe(10_000);
    expect(c.resultsRetentionMs).toBe(90 * 24 * 3_600_000);
    expect(c.groupWindowMs).toBe(120_000);
  });

  it.each([
    ['0', null],
    ['0d', null],
    ['90d', 90 * 24 * 3_600_000],
    ['12h', 12 * 3_600_000],
    ['1s', 1_000],
  ])('RUNHOOK_RETENTION=%s → %s ms (null keeps everything)', (value, ms) => {
    expect(loadConfig({ RUNHOOK_RETENTION: value }).retentionMs).toBe(ms);
  });

  it('reads every variable, each into its own field', () => {
    const c = loadConfig(everyVariable);
    const { allowedCidrs, ...rest } = c;
    expect(rest).toEqual({
      database: { kind: 'postgres', url: 'postgres://u@h:5432/db' },
      host: '0.0.0.0',
      port: 9000,
      publicUrl: 'https://hooks.example.com',
      bootstrapApiKey: `sk_live_${'A1'.repeat(20)}`,
      retrySchedule: [10_000, 60_000, 7_200_000],
      retryJitter: 0,
      attemptTimeoutMs: 500,
      workerConcurrency: 8,
      webhookConcurrency: 2,
      secretKey: 'k'.repeat(32),
      logLevel: 'debug',
      metricsToken: 'scrape-token',
      claimLeaseMs: 2_000,
      rateLimit: 50,
      health: {
        degradedAfter: 5,
        disableAfterFailures: 0,
        disableAfterMs: 7_200_000,
        probeSchedule: [60_000, 1_800_000],
      },
      alerts: {
        url: 'http://10.0.0.5:9000/alerts',
        secret: 'alert-secret-value',
        format: 'slack',
        intervalMs: 3_600_000,
      },
      retentionMs: 90 * 86_400_000,
      manualSendLimit: 3,
      orgConcurrency: 16,
      orgBorrow: false,
      maxResults: 500,
      resultsRetentionMs: 30 * 86_400_000,
      groupWindowMs: 300_000,
    });
    expect(allowedCidrs.map((cidr) => [cidr.text, cidr.prefixLength])).toEqual([
      ['127.0.0.0/8', 8],
      ['::1/128', 128],
    ]);
  });

  it('is tested on every variable it reads', () => {
    // loadConfig reports which names it looks up; a variable added there must be added above.
    const looked = new Set<string>();
    const spy = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === 'string') looked.add(name);
          return undefined;
        },
      },
    );
    loadConfig(spy);
    expect([...looked].sort()).toEqual(Object.keys(everyVariable).sort());
  });

  it.each(Object.entries(everyVariable).filter(([name]) => name !== 'RUNHOOK_DATABASE_URL'))(
    '%s alone moves the config away from the defaults',
    (name, value) => {
      expect(loadConfig({ [name]: value })).not.toEqual(loadConfig({}));
    },
  );

  it('0.0.0.0 is shown as 127.0.0.1 in the default public URL, an IPv6 host in brackets', () => {
    expect(loadConfig({ RUNHOOK_HOST: '0.0.0.0', RUNHOOK_PORT: '9000' }).publicUrl).toBe(
      'http://127.0.0.1:9000',
    );
    expect(loadConfig({ RUNHOOK_HOST: '::1' }).publicUrl).toBe('http://[::1]:8080');
  });

  it.each([
    ['RUNHOOK_DATABASE_URL', 'mysql://x'],
    ['RUNHOOK_DATABASE_URL', 'postgres://runhook:pa#ss@db.example/x'],
    ['RUNHOOK_DATABASE_URL', 'postgres://runhook:p/w@db.example:5432/x'],
    ['RUNHOOK_METRICS_TOKEN', 'scrape token'],
    ['RUNHOOK_METRICS_TOKEN', 'scrape-token\n'],
    ['RUNHOOK_METRICS_TOKEN', '   '],
    ['RUNHOOK_PORT', '80800'],
    ['RUNHOOK_PORT', 'eighty'],
    ['RUNHOOK_PUBLIC_URL', 'not a url'],
    ['RUNHOOK_BOOTSTRAP_API_KEY', 'sk_live_short'],
    ['RUNHOOK_RETRY_SCHEDULE', '1m,5 parsecs'],
    ['RUNHOOK_RETRY_JITTER', '1.5'],
    ['RUNHOOK_RETRY_JITTER', '-0.1'],
    ['RUNHOOK_ATTEMPT_TIMEOUT', '15'],
    ['RUNHOOK_WORKER_CONCURRENCY', '0'],
    ['RUNHOOK_WEBHOOK_CONCURRENCY', '2.5'],
    ['RUNHOOK_ALLOWED_CIDRS', '127.0.0.0/33'],
    ['RUNHOOK_SECRET_KEY', 'too-short'],
    ['RUNHOOK_LOG_LEVEL', 'loud'],
    ['RUNHOOK_DEGRADED_AFTER', '0'],
    ['RUNHOOK_DISABLE_AFTER_FAILURES', '-1'],
    ['RUNHOOK_DISABLE_AFTER', '24'],
    ['RUNHOOK_PROBE_SCHEDULE', '10m,,1h'],
    ['RUNHOOK_ALERT_URL', 'ftp://alerts.example.com'],
    ['RUNHOOK_ALERT_SECRET', 'short'],
    ['RUNHOOK_ALERT_FORMAT', 'teams'],
    ['RUNHOOK_ALERT_INTERVAL', '15'],
    ['RUNHOOK_ALERT_INTERVAL', '8d'],
    ['RUNHOOK_RETENTION', '-1d'],
    ['RUNHOOK_RETENTION', 'abc'],
    ['RUNHOOK_RETENTION', '30'],
    ['RUNHOOK_RETENTION', '500ms'],
    ['RUNHOOK_MANUAL_SEND_LIMIT', '0'],
    ['RUNHOOK_MAX_RESULTS', '0'],
    ['RUNHOOK_RESULTS_RETENTION', '10ms'],
    ['RUNHOOK_GROUP_WINDOW', '5'],
    ['RUNHOOK_GROUP_WINDOW', '8d'],
    ['RUNHOOK_ORG_CONCURRENCY', '0'],
    ['RUNHOOK_MANUAL_SEND_LIMIT', 'ten'],
  ])('%s=%s stops startup naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('a bad RUNHOOK_ALERT_SECRET is named but never shown', () => {
    const secret = 'whsec_not base64!';
    expect(() => loadConfig({ RUNHOOK_ALERT_SECRET: secret })).toThrow('RUNHOOK_ALERT_SECRET');
    try {
      loadConfig({ RUNHOOK_ALERT_SECRET: secret });
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });

  it('requires RUNHOOK_SECRET_KEY on PostgreSQL', () => {
    expect(() => loadConfig({ RUNHOOK_DATABASE_URL: 'postgres://localhost/x' })).toThrow(
      'RUNHOOK_SECRET_KEY',
    );
  });

  it.each([
    ['postgres://runhook:Secret7731@db.example:5432/x', 'postgres://runhook:***@db.example:5432/x'],
    ['postgres://runhook:Sec/ret@7731@db.example/x', 'postgres://runhook:***@db.example/x'],
    [
      'postgres://runhook:Sec ret7731@db.example/x?sslmode=require',
      'postgres://runhook:***@db.example/x?sslmode=require',
    ],
    ['postgres://db.example/x?password=Secret7731&user=r', 'postgres://db.example/x?password=***&user=r'],
    ['postgres://db.example/x', 'postgres://db.example/x'],
  ])('redactDatabaseUrl(%s) hides the password, even in a malformed URL', (url, shown) => {
    expect(redactDatabaseUrl(url)).toBe(shown);
    expect(() => loadConfig({ RUNHOOK_DATABASE_URL: url, RUNHOOK_SECRET_KEY: 'k'.repeat(32) })).not.toThrow(
      /7731/,
    );
  });
});
