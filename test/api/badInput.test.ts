import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

type Ids = Record<string, string>;

/** Bodies that are wrong for every route that takes one. Raw strings are sent as-is. */
const GENERIC: Array<[string, unknown]> = [
  ['malformed JSON', '{"name": "x",'],
  ['truncated JSON', '{'],
  ['JSON null', 'null'],
  ['JSON array', '[{"name":"x"}]'],
  ['JSON string', '"hello"'],
  ['JSON number', '42'],
  ['unknown field', { zzz_unknown: 1 }],
  ['prototype pollution', '{"__proto__": {"admin": true}}'],
  ['deep nesting', `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`],
  ['NUL in a key', '{"na\\u0000me": "x"}'],
];

const LONG = (n: number) => 'x'.repeat(n);
const UUID0 = '00000000-0000-4000-8000-000000000000';

/** Route-specific hostile bodies; each must be refused with a 4xx. */
const ROUTES: Array<{ method: string; path: (i: Ids) => string; bad: Array<[string, (i: Ids) => unknown]> }> =
  [
    {
      method: 'POST',
      path: () => '/api/v1/agents',
      bad: [
        ['missing name', () => ({ description: 'x' })],
        ['empty name', () => ({ name: '' })],
        ['name too long', () => ({ name: LONG(201) })],
        ['description too long', () => ({ name: 'n', description: LONG(2001) })],
        ['name wrong type', () => ({ name: ['a'] })],
        ['is_active as string', () => ({ name: 'n2', is_active: 'yes' })],
        ['NUL in name', () => ({ name: 'n\u0000' })],
        ['NUL in description', () => ({ name: 'n3', description: 'd\u0000d' })],
        ['NUL in provider', () => ({ name: 'n4', provider: '\u0000' })],
        ['provider not in the list', () => ({ name: 'n5', provider: 'playwright' })],
        ['config a string', () => ({ name: 'n6', provider: 'vapi', config: 'api_key=1' })],
        ['config an array', () => ({ name: 'n7', provider: 'vapi', config: [{ api_key: '1' }] })],
        ['config over 16 KiB', () => ({ name: 'n8', provider: 'vapi', config: { api_key: LONG(16_384) } })],
        ['NUL in a config value', () => ({ name: 'n9', provider: 'vapi', config: { api_key: 'k\u0000' } })],
        ['duplicate name', () => ({ name: 'existing' })],
      ],
    },
    {
      method: 'PUT',
      path: (i) => `/api/v1/agents/${i.agent}`,
      bad: [
        ['name too long', () => ({ name: LONG(201) })],
        ['name null', () => ({ name: null })],
        ['rename onto another agent', () => ({ name: 'other' })],
        ['provider not in the list', () => ({ provider: 'anthropic' })],
        ['config a number', () => ({ config: 7 })],
      ],
    },
    {
      method: 'POST',
      path: () => '/api/v1/test-suites',
      bad: [
        ['missing name', () => ({ scenario_ids: ['a'] })],
        ['missing scenario_ids', () => ({ name: 's' })],
        ['empty scenario_ids', () => ({ name: 's', scenario_ids: [] })],
        ['scenario id not a string', () => ({ name: 's', scenario_ids: [1] })],
        ['scenario id too long', () => ({ name: 's', scenario_ids: [LONG(201)] })],
        ['repeated scenario id', () => ({ name: 's', scenario_ids: ['a', 'a'] })],
        [
          '1,001 scenario ids',
          () => ({ name: 's', scenario_ids: Array.from({ length: 1001 }, (_, n) => `s${n}`) }),
        ],
        ['name too long', () => ({ name: LONG(201), scenario_ids: ['a'] })],
        ['NUL in a scenario id', () => ({ name: 's', scenario_ids: ['a\u0000'] })],
        ['duplicate name', () => ({ name: 'existing suite', scenario_ids: ['a'] })],
      ],
    },
    {
      method: 'PUT',
      path: (i) => `/api/v1/test-suites/${i.suite}`,
      bad: [
        ['no field', () => ({})],
        ['only the read-only count', () => ({ scenario_count: 3 })],
        ['name null', () => ({ name: null })],
        ['scenario_ids null', () => ({ scenario_ids: null })],
        ['rename onto another suite', () => ({ name: 'other suite' })],
      ],
    },
    {
      method: 'PATCH',
      path: (i) => `/api/v1/runs/${i.run}`,
      bad: [
        ['no status', () => ({})],
        ['status running', () => ({ status: 'running' })],
        ['status completed (use /complete)', () => ({ status: 'completed' })],
        ['another field', () => ({ status: 'grading', name: 'renamed' })],
      ],
    },
    {
      method: 'POST',
      path: () => '/api/v1/runs',
      bad: [
        ['missing agent_id', () => ({ name: 'r' })],
        ['agent_id not a uuid', () => ({ agent_id: 'abc' })],
        ['agent_id of nobody', () => ({ agent_id: UUID0 })],
        ['negative count', (i) => ({ agent_id: i.agent, status: 'completed', passed_count: -1 })],
        ['fractional count', (i) => ({ agent_id: i.agent, status: 'completed', passed_count: 1.5 })],
        ['count as string', (i) => ({ agent_id: i.agent, status: 'completed', passed_count: '3' })],
        ['bad status', (i) => ({ agent_id: i.agent, status: 'done' })],
        ['bad started_at', (i) => ({ agent_id: i.agent, started_at: 'yesterday' })],
        ['started_at without zone', (i) => ({ agent_id: i.agent, started_at: '2026-01-30T10:30:00' })],
        [
          'total below sum',
          (i) => ({ agent_id: i.agent, status: 'failed', failed_count: 5, total_scenarios: 2 }),
        ],
        ['counts without final status', (i) => ({ agent_id: i.agent, passed_count: 3 })],
        ['name too long', (i) => ({ agent_id: i.agent, name: LONG(201) })],
        ['NUL in name', (i) => ({ agent_id: i.agent, name: 'run\u0000' })],
        ['huge count', (i) => ({ agent_id: i.agent, status: 'completed', passed_count: 1e300 })],
      ],
    },
    {
      method: 'POST',
      path: (i) => `/api/v1/runs/${i.run}/complete`,
      bad: [
        ['missing status', () => ({ passed_count: 1 })],
        ['status canceled (use /cancel)', () => ({ status: 'canceled' })],
        ['status running', () => ({ status: 'running' })],
        ['negative count', () => ({ status: 'completed', error_count: -2 })],
        ['completed_at not a time', () => ({ status: 'completed', completed_at: 12 })],
        ['total below sum', () => ({ status: 'completed', passed_count: 3, total_scenarios: 1 })],
      ],
    },
    {
      method: 'POST',
      path: (i) => `/api/v1/runs/${i.run}/cancel`,
      bad: [['unknown status field', () => ({ status: 'canceled' })]],
    },
    {
      method: 'POST',
      path: () => '/api/v1/webhooks',
      bad: [
        ['missing url', () => ({ secret: 'abcdefgh' })],
        ['url not a URL', () => ({ url: 'not a url' })],
        ['javascript: url', () => ({ url: 'javascript:alert(1)' })],
        ['ftp url', () => ({ url: 'ftp://example.com/x' })],
        ['url too long', () => ({ url: `https://example.com/${LONG(2048)}` })],
        ['metadata address', () => ({ url: 'http://169.254.169.254/latest/meta-data' })],
        ['loopback v6', () => ({ url: 'http://[::1]/x' })],
        ['decimal loopback', () => ({ url: 'http://2130706433/x' })],
        ['hex loopback', () => ({ url: 'http://0x7f.1/x' })],
        ['localhost dot', () => ({ url: 'http://localhost./x' })],
        ['mapped loopback', () => ({ url: 'http://[::ffff:127.0.0.1]/x' })],
        ['private', () => ({ url: 'http://10.1.2.3/x' })],
        ['credentials in url', () => ({ url: 'https://user:pw@example.com/x' })],
        ['unknown event type', () => ({ url: 'https://example.com/x', events: ['test_run_exploded'] })],
        ['no event type', () => ({ url: 'https://example.com/x', events: [] })],
        [
          'clix of test states',
          () => ({ url: 'https://example.com/x', format: 'clix', events: ['test_status_changed'] }),
        ],
        ['secret too short', () => ({ url: 'https://example.com/x', secret: 'short' })],
        ['secret too long', () => ({ url: 'https://example.com/x', secret: LONG(257) })],
        ['secret wrong type', () => ({ url: 'https://example.com/x', secret: 12345678 })],
        [
          '11 headers',
          () => ({
            url: 'https://example.com/x',
            headers: Object.fromEntries(Array.from({ length: 11 }, (_, n) => [`X-H${n}`, 'v'])),
          }),
        ],
        [
          'reserved header',
          () => ({ url: 'https://example.com/x', headers: { 'Content-Type': 'text/plain' } }),
        ],
        ['webhook- header', () => ({ url: 'https://example.com/x', headers: { 'webhook-id': 'forged' } })],
        [
          'x-runhook header',
          () => ({ url: 'https://example.com/x', headers: { 'X-Runhook-Signature': 'forged' } }),
        ],
        [
          'x-clix header',
          () => ({ url: 'https://example.com/x', headers: { 'X-Clix-Signature': 'forged' } }),
        ],
        [
          'CRLF in header value',
          () => ({ url: 'https://example.com/x', headers: { 'X-A': 'v\r\nX-Injected: 1' } }),
        ],
        ['bad header name', () => ({ url: 'https://example.com/x', headers: { 'X A': 'v' } })],
        ['header value not a string', () => ({ url: 'https://example.com/x', headers: { 'X-A': 1 } })],
        ['NUL in description', () => ({ url: 'https://example.com/x', description: '\u0000' })],
        ['NUL in header value', () => ({ url: 'https://example.com/x', headers: { 'X-A': 'a\u0000' } })],
        ['__proto__ header', () => '{"url":"https://example.com/x","headers":{"__proto__":"v"}}'],
        ['constructor header', () => ({ url: 'https://example.com/x', headers: { constructor: 'v' } })],
        ['header value too long', () => ({ url: 'https://example.com/x', headers: { 'X-A': LONG(4097) } })],
        ['headers not an object', () => ({ url: 'https://example.com/x', headers: ['X-A: 1'] })],
        ['bad format', () => ({ url: 'https://example.com/x', format: 'soap' })],
        ['is_enabled as string', () => ({ url: 'https://example.com/x', is_enabled: 'true' })],
        ['agent_id not a uuid', () => ({ url: 'https://example.com/x', agent_id: 'nope' })],
        ['agent of nobody', () => ({ url: 'https://example.com/x', agent_id: UUID0 })],
      ],
    },
    {
      method: 'PATCH',
      path: (i) => `/api/v1/webhooks/${i.webhook}`,
      bad: [
        ['url private', () => ({ url: 'http://192.168.1.1/x' })],
        ['secret too short', () => ({ secret: 'short' })],
        ['reserved header', () => ({ headers: { Host: 'evil' } })],
        ['change agent_id', (i) => ({ agent_id: i.agent })],
        ['bad format', () => ({ format: 1 })],
      ],
    },
    {
      method: 'POST',
      path: () => '/api/v1/api-keys',
      bad: [
        ['missing name', () => ({})],
        ['NUL in name', () => ({ name: 'key\u0000' })],
        ['expires in the past', () => ({ name: 'k', expires_at: '2001-01-01T00:00:00Z' })],
        ['expires not a time', () => ({ name: 'k', expires_at: 'soon' })],
      ],
    },
  ];

for (const backend of backends) {
  describe(`bad input sweep [${backend.name}]`, () => {
    let ctx: TestContext;
    const ids: Ids = {};
    let snapshot: string;

    /** Everything the org can see, to prove a refused request stored nothing. */
    async function state(): Promise<string> {
      const parts = await Promise.all(
        [
          '/api/v1/agents',
          '/api/v1/runs',
          '/api/v1/webhooks',
          '/api/v1/deliveries',
          '/api/v1/api-keys',
          '/api/v1/test-suites',
        ].map(async (p) => (await ctx.api('GET', `${p}?limit=100`)).body),
      );
      return JSON.stringify(parts);
    }

    beforeAll(async () => {
      // Loopback refused as in production: a scope may have several webhooks, so a refused URL must be
      // refused for what it is, not because the scope already has one.
      ctx = await createTestContext(backend, { env: { RUNHOOK_ALLOWED_CIDRS: '' } });
      ids.agent = (await ctx.api('POST', '/api/v1/agents', { name: 'existing' })).body.id;
      await ctx.api('POST', '/api/v1/agents', { name: 'other' });
      ids.run = (await ctx.api('POST', '/api/v1/runs', { agent_id: ids.agent, total_scenarios: 2 })).body.id;
      ids.suite = (
        await ctx.api('POST', '/api/v1/test-suites', { name: 'existing suite', scenario_ids: ['a'] })
      ).body.id;
      await ctx.api('POST', '/api/v1/test-suites', { name: 'other suite', scenario_ids: ['b'] });
      ids.webhook = (
        await ctx.api('POST', '/api/v1/webhooks', {
          url: 'https://example.com/org',
          secret: 'initial-secret',
        })
      ).body.id;
      snapshot = await state();
    });
    afterAll(async () => {
      await ctx.close();
    });

    const cases = ROUTES.flatMap((r) => [
      ...GENERIC.map(
        ([name, body]) =>
          [
            `${r.method} ${r.path({ agent: ':agent', run: ':run', webhook: ':webhook', suite: ':suite' })} ← ${name}`,
            r,
            () => body,
          ] as const,
      ),
      ...r.bad.map(
        ([name, body]) =>
          [
            `${r.method} ${r.path({ agent: ':agent', run: ':run', webhook: ':webhook', suite: ':suite' })} ← ${name}`,
            r,
            body,
          ] as const,
      ),
    ]);

    it.each(cases)('%s → 4xx, error shape', async (_label, route, body) => {
      const res = await ctx.api(route.method, route.path(ids), body(ids));
      expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.error).toBe('string');
      expect(res.body.code).toMatch(/^[A-Z_]+$/);
      expect(JSON.stringify(res.body)).not.toContain('initial-secret');
    });

    it('nothing was stored or changed by any refused request', async () => {
      expect(await state()).toBe(snapshot);
      // Nor was a TR- number used up.
      const next = await ctx.api('POST', '/api/v1/runs', { agent_id: ids.agent });
      expect(next.body.test_run_id).toBe('TR-00002');
    });
  });
}
