import { describe, expect, it } from 'vitest';
import { alertBody } from '../../src/domain/alertPayload.js';
import {
  alertTransition,
  type HealthFacts,
  type HealthPolicy,
  probeDelay,
  shouldAutoDisable,
  webhookHealth,
} from '../../src/domain/health.js';
import { parseRecoverRange } from '../../src/domain/recoverRange.js';
import { percentileRank, statsWindow, successRate } from '../../src/domain/stats.js';

const H = 3_600_000;
const policy: HealthPolicy = {
  degradedAfter: 3,
  disableAfterFailures: 10,
  disableAfterMs: 24 * H,
  probeSchedule: [1, 2, 3],
};
const facts = (
  over: Partial<HealthFacts & { recoveredBy: string | null }> = {},
): HealthFacts & { recoveredBy: string | null } => ({
  isEnabled: true,
  consecutiveFailures: 0,
  disabledReason: null,
  failingSince: null,
  failedStreak: 0,
  recoveredBy: null,
  ...over,
});

describe('webhookHealth', () => {
  it.each([
    [true, 0, 'healthy'],
    [true, 2, 'healthy'],
    [true, 3, 'degraded'],
    [false, 0, 'disabled'],
    [false, 9, 'disabled'],
  ] as const)('enabled %s, %i failures → %s', (isEnabled, consecutiveFailures, health) => {
    expect(webhookHealth({ isEnabled, consecutiveFailures }, 3)).toBe(health);
  });
});

describe('shouldAutoDisable', () => {
  const now = 100 * H;
  it.each([
    ['10 failed, first 24 h ago', { failedStreak: 10, failingSince: now - 24 * H }, policy, true],
    ['10 failed, first 23 h ago', { failedStreak: 10, failingSince: now - 23 * H }, policy, false],
    ['9 failed, first 48 h ago', { failedStreak: 9, failingSince: now - 48 * H }, policy, false],
    ['no failure time', { failedStreak: 50, failingSince: null }, policy, false],
    ['already off', { failedStreak: 50, failingSince: 0, isEnabled: false }, policy, false],
    [
      'turned off by config (0)',
      { failedStreak: 50, failingSince: 0 },
      { ...policy, disableAfterFailures: 0 },
      false,
    ],
  ] as const)('%s → %s', (_label, over, p, expected) => {
    expect(shouldAutoDisable(facts(over), p, now)).toBe(expected);
  });
});

describe('probeDelay', () => {
  it('follows the schedule, the last delay repeating', () => {
    expect([0, 1, 2, 3, 10].map((n) => probeDelay([10, 20, 30], n))).toEqual([10, 20, 30, 30, 30]);
  });
});

describe('alertTransition', () => {
  it.each([
    ['healthy stays quiet', 'healthy', facts(), null],
    ['degraded', 'healthy', facts({ consecutiveFailures: 3 }), ['webhook.degraded', 'failing', 'degraded']],
    ['degraded once', 'degraded', facts({ consecutiveFailures: 7 }), null],
    [
      'gone',
      'healthy',
      facts({ isEnabled: false, disabledReason: 'gone' }),
      ['webhook.disabled', 'gone', 'disabled'],
    ],
    [
      'failing',
      'degraded',
      facts({ isEnabled: false, disabledReason: 'failing' }),
      ['webhook.disabled', 'failing', 'disabled'],
    ],
    ['off by hand: no alert', 'degraded', facts({ isEnabled: false, disabledReason: 'manual' }), null],
    ['back by probe', 'disabled', facts({ recoveredBy: 'probe' }), ['webhook.recovered', 'probe', 'healthy']],
    [
      'back by a person',
      'disabled',
      facts({ recoveredBy: 'manual' }),
      ['webhook.recovered', 'manual', 'healthy'],
    ],
    ['delivered again', 'degraded', facts(), ['webhook.recovered', 'delivered', 'healthy']],
  ] as const)('%s', (_label, alerted, f, expected) => {
    const t = alertTransition(alerted, f, 3);
    expect(t === null ? null : [t.event, t.reason, t.state]).toEqual(expected);
  });
});

describe('alertBody', () => {
  const a = {
    event: 'webhook.disabled' as const,
    createdAt: Date.UTC(2026, 11, 3, 9, 14, 0),
    organization: { id: 'org-1', name: 'Acme' },
    webhook: { id: 'wh-1', url: 'https://ci.example.com/hook', agentId: null },
    reason: 'gone',
    consecutiveFailures: 4,
    suppressed: 0,
  };
  it('standard: the documented keys in order, the URL cut to scheme and host', () => {
    expect(alertBody('standard', a)).toBe(
      '{"event":"webhook.disabled","timestamp":"2026-12-03T09:14:00Z","organization":{"id":"org-1","name":"Acme"},' +
        '"webhook":{"id":"wh-1","url":"https://ci.example.com","agent_id":null},"reason":"gone","consecutive_failures":4,"suppressed":0}',
    );
  });
  it('slack: one text line with the facts, the webhook named by id, scheme and host', () => {
    const text = JSON.parse(alertBody('slack', a)).text as string;
    expect(text).toContain('Webhook disabled');
    expect(text).toContain('wh-1 (https://ci.example.com)');
    expect(text).not.toContain('/hook');
    expect(text).toContain('Acme');
    expect(text).not.toContain('\n');
  });
  it('never shows a path or query: a chat webhook URL is a credential', () => {
    const secretUrl = 'https://hooks.slack.com:8443/services/T000/B000/XXXXSECRET?token=abc';
    for (const format of ['standard', 'slack'] as const) {
      const body = alertBody(format, { ...a, webhook: { ...a.webhook, url: secretUrl } });
      expect(body).toContain('https://hooks.slack.com:8443');
      expect(body).not.toContain('services');
      expect(body).not.toContain('XXXXSECRET');
      expect(body).not.toContain('token');
    }
  });
  it('slack: tenant text cannot ping the channel or disguise a link', () => {
    const hostile = {
      ...a,
      organization: {
        id: 'org-1',
        name: '<!channel> <https://evil.example/login|Re-enter your API key> & co',
      },
      webhook: {
        id: 'wh-1',
        url: 'https://ci.example.com/<!channel> <https://evil.example/login|Re-enter your API key>',
        agentId: '<!here>',
      },
    };
    const text = JSON.parse(alertBody('slack', hostile)).text as string;
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain(
      '&lt;!channel&gt; &lt;https://evil.example/login|Re-enter your API key&gt; &amp; co',
    );
    expect(text).toContain('webhook of agent &lt;!here&gt;');
    expect(text).not.toContain('evil.example/login|Re-enter your API key>');
  });
  it('reports how many alerts were suppressed since the last one sent', () => {
    expect(JSON.parse(alertBody('standard', { ...a, suppressed: 7 })).suppressed).toBe(7);
    const text = JSON.parse(alertBody('slack', { ...a, suppressed: 7 })).text as string;
    expect(text.split('\n')[1]).toMatch(/^7 earlier alerts for this webhook not sent/);
  });
});

describe('stats windows', () => {
  const now = Date.UTC(2026, 11, 3, 9, 14, 0);
  it('24h: 24 hourly buckets ending with the current hour', () => {
    const w = statsWindow('24h', now);
    expect(w).toEqual({
      start: Date.UTC(2026, 11, 2, 10),
      end: Date.UTC(2026, 11, 3, 10),
      bucketMs: H,
      buckets: 24,
    });
  });
  it('7d: 7 UTC days ending with today', () => {
    const w = statsWindow('7d', now);
    expect(w).toEqual({
      start: Date.UTC(2026, 10, 27),
      end: Date.UTC(2026, 11, 4),
      bucketMs: 24 * H,
      buckets: 7,
    });
  });
  it('success rate and percentile ranks', () => {
    expect(successRate(0, 0)).toBeNull();
    expect(successRate(2, 1)).toBe(66.67);
    expect([percentileRank(50, 10), percentileRank(95, 10), percentileRank(95, 1)]).toEqual([5, 10, 1]);
  });
});

describe('parseRecoverRange', () => {
  const now = Date.UTC(2026, 11, 3);
  it.each([
    ['2026-12-01T00:00:00Z', undefined, { ok: true, since: Date.UTC(2026, 11, 1), until: now }],
    ['yesterday', undefined, { ok: false, field: 'since' }],
    ['2026-12-01T00:00:00Z', 'soon', { ok: false, field: 'until' }],
    ['2026-12-01T00:00:00Z', '2026-11-30T00:00:00Z', { ok: false, field: 'until' }],
    ['2026-12-04T00:00:00Z', undefined, { ok: false, field: 'since' }],
    ['2025-01-01T00:00:00Z', '2026-01-02T00:00:01Z', { ok: false, field: 'until' }],
    ['2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z', { ok: true }],
  ] as const)('%s … %s', (since, until, expected) => {
    expect(parseRecoverRange(since, until, now)).toMatchObject(expected);
  });
});
