/**
 * Agents as Preclinical's API pages describe them (docs/api.md#agents): a provider from a fixed
 * list, a provider config that is stored encrypted and never shown, a provider filter on the list,
 * and POST /agents/{id}/validate, a shape check of the config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROVIDERS } from '../../src/domain/agentConfig.js';
import { backends } from '../helpers/backends.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { openRawSql } from '../helpers/rawSql.js';

const VAPI_KEY = 'va_live_supersecret_0123456789';

for (const backend of backends) {
  describe(`agents with a provider and config [${backend.name}]`, () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestContext(backend);
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('stores the config encrypted, never returns it, and shows has_config', async () => {
      const created = await ctx.api('POST', '/api/v1/agents', {
        provider: 'vapi',
        name: 'Healthcare Assistant',
        description: 'Production voice agent for patient triage',
        config: { assistant_id: 'asst_abc123', api_key: VAPI_KEY },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ provider: 'vapi', has_config: true, is_active: true });
      expect(created.body).not.toHaveProperty('config');
      const id = created.body.id;

      for (const answer of [
        await ctx.api('GET', `/api/v1/agents/${id}`),
        await ctx.api('GET', '/api/v1/agents'),
        await ctx.api('GET', '/api/v1/agents?provider=vapi'),
      ]) {
        expect(answer.status).toBe(200);
        expect(JSON.stringify(answer.body)).not.toContain(VAPI_KEY);
        expect(JSON.stringify(answer.body)).not.toContain('asst_abc123');
      }
      expect((await ctx.api('GET', `/api/v1/agents/${id}`)).body.has_config).toBe(true);

      // At rest: sealed, not the JSON the client sent.
      const raw = await openRawSql(ctx.db.url);
      try {
        expect(await raw.count(`SELECT count(*) FROM agents WHERE config_enc LIKE 'v1:%'`)).toBe(1);
        expect(await raw.count(`SELECT count(*) FROM agents WHERE config_enc LIKE '%${VAPI_KEY}%'`)).toBe(0);
        expect(await raw.count(`SELECT count(*) FROM agents WHERE config_enc LIKE '%assistant_id%'`)).toBe(0);
      } finally {
        await raw.close();
      }
    });

    it('validates the config shape per provider without contacting it', async () => {
      const make = async (name: string, body: Record<string, unknown>) => {
        const res = await ctx.api('POST', '/api/v1/agents', { name, ...body });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.id as string;
      };
      const validate = async (id: string) => {
        const res = await ctx.api('POST', `/api/v1/agents/${id}/validate`);
        expect(res.status).toBe(200);
        return res.body;
      };

      const missingKey = await make('vapi without key', { provider: 'vapi', config: { assistant_id: 'a' } });
      expect(await validate(missingKey)).toEqual({
        valid: false,
        message: 'config is missing api_key',
        details: { error_code: 'MISSING_CONFIG_FIELD', field: 'api_key' },
      });

      const cases: Array<[string, Record<string, unknown>]> = [
        ['vapi', { assistant_id: 'asst_1', api_key: 'k' }],
        ['retell', { agent_id: 'agent_1', api_key: 'k' }],
        ['elevenlabs', { agent_id: 'agent_1', api_key: 'k' }],
        ['openai', { api_key: 'sk-1', model: 'gpt-4o' }],
        ['livekit', { url: 'wss://lk.example', api_key: 'k', api_secret: 's' }],
        ['pipecat', { url: 'https://pc.example' }],
      ];
      for (const [provider, config] of cases) {
        const id = await make(`valid ${provider}`, { provider, config });
        const answer = await validate(id);
        expect(answer.valid, provider).toBe(true);
        expect(answer.message).toContain('not contacted');
        expect(answer).not.toHaveProperty('details');
      }

      const livekit = await make('livekit partial', {
        provider: 'livekit',
        config: { url: 'wss://x', api_key: 'k' },
      });
      expect(await validate(livekit)).toMatchObject({
        valid: false,
        details: { error_code: 'MISSING_CONFIG_FIELD', field: 'api_secret' },
      });
      const emptyKey = await make('openai empty key', { provider: 'openai', config: { api_key: ' ' } });
      expect(await validate(emptyKey)).toMatchObject({
        valid: false,
        details: { error_code: 'INVALID_CONFIG_FIELD', field: 'api_key' },
      });
      const noConfig = await make('no config', { provider: 'retell' });
      expect(await validate(noConfig)).toMatchObject({
        valid: false,
        message: 'the agent has no config',
        details: { error_code: 'MISSING_CONFIG' },
      });
      const noProvider = await make('no provider', { config: { api_key: 'k' } });
      expect(await validate(noProvider)).toMatchObject({
        valid: false,
        message: 'the agent has no provider',
        details: { error_code: 'MISSING_PROVIDER' },
      });

      // An unknown agent, or another organization's, is a 404.
      const other = await ctx.newOrg('validate-other');
      expect(
        (await ctx.api('POST', `/api/v1/agents/${missingKey}/validate`, undefined, other.apiKey)).body.code,
      ).toBe('AGENT_NOT_FOUND');
      expect((await ctx.api('POST', '/api/v1/agents/not-a-uuid/validate')).status).toBe(404);
    });

    it('refuses a provider outside the list, listing them, and a config that is not an object or too big', async () => {
      const bad = await ctx.api('POST', '/api/v1/agents', { name: 'bad provider', provider: 'playwright' });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('INVALID_FIELD_VALUE');
      expect(bad.body.details.field).toBe('provider');
      for (const p of AGENT_PROVIDERS) expect(bad.body.error).toContain(p);

      for (const config of ['key=value', ['a'], 42]) {
        const res = await ctx.api('POST', '/api/v1/agents', {
          name: 'bad config',
          provider: 'openai',
          config,
        });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'config' } });
      }
      const big = await ctx.api('POST', '/api/v1/agents', {
        name: 'big config',
        provider: 'openai',
        config: { api_key: 'k', blob: 'x'.repeat(16 * 1024) },
      });
      expect(big.status).toBe(400);
      expect(big.body).toMatchObject({ code: 'INVALID_FIELD_VALUE', details: { field: 'config' } });
      expect(big.body.error).not.toContain('xxxx');

      const listed = await ctx.api('GET', '/api/v1/agents?provider=playwright');
      expect(listed.status).toBe(400);
      expect(listed.body.code).toBe('INVALID_FIELD_VALUE');

      // Nothing was created by any of them.
      const all = await ctx.api('GET', '/api/v1/agents?limit=100');
      expect(all.body.agents.map((a: { name: string }) => a.name)).not.toEqual(
        expect.arrayContaining(['bad provider', 'bad config', 'big config']),
      );
    });

    it('filters the list by provider; PUT changes or clears the config; a GET answer can be sent back', async () => {
      const a = await ctx.api('POST', '/api/v1/agents', {
        name: 'retell line',
        provider: 'retell',
        config: { agent_id: 'ag', api_key: 'k' },
      });
      const b = await ctx.api('POST', '/api/v1/agents', { name: 'eleven line', provider: 'elevenlabs' });
      expect(b.body.has_config).toBe(false);

      // Earlier tests made two more retell agents and one more elevenlabs agent.
      const retell = await ctx.api('GET', '/api/v1/agents?provider=retell');
      expect(retell.body.total).toBe(3);
      expect(retell.body.agents.map((x: { id: string }) => x.id)).toContain(a.body.id);
      expect(new Set(retell.body.agents.map((x: { provider: string }) => x.provider))).toEqual(
        new Set(['retell']),
      );
      const eleven = await ctx.api('GET', '/api/v1/agents?provider=elevenlabs&limit=1&offset=1');
      expect(eleven.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
      expect(eleven.body.agents).toHaveLength(1);

      // Send the agent back as read (has_config included): accepted, the config is kept.
      const {
        id: _id,
        created_at: _c,
        updated_at: _u,
        ...read
      } = (await ctx.api('GET', `/api/v1/agents/${a.body.id}`)).body;
      const back = await ctx.api('PUT', `/api/v1/agents/${a.body.id}`, { ...read, description: 'v2' });
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ description: 'v2', has_config: true });
      expect((await ctx.api('POST', `/api/v1/agents/${a.body.id}/validate`)).body.valid).toBe(true);

      // A new config replaces the old one.
      const replaced = await ctx.api('PUT', `/api/v1/agents/${a.body.id}`, { config: { agent_id: 'ag2' } });
      expect(replaced.body.has_config).toBe(true);
      expect((await ctx.api('POST', `/api/v1/agents/${a.body.id}/validate`)).body.message).toBe(
        'config is missing api_key',
      );

      // null clears it.
      const cleared = await ctx.api('PUT', `/api/v1/agents/${a.body.id}`, { config: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.has_config).toBe(false);
      expect((await ctx.api('POST', `/api/v1/agents/${a.body.id}/validate`)).body.details.error_code).toBe(
        'MISSING_CONFIG',
      );

      // A bad PUT changes nothing.
      const refused = await ctx.api('PUT', `/api/v1/agents/${b.body.id}`, {
        name: 'renamed',
        provider: 'nope',
      });
      expect(refused.status).toBe(400);
      expect((await ctx.api('GET', `/api/v1/agents/${b.body.id}`)).body).toMatchObject({
        name: 'eleven line',
        provider: 'elevenlabs',
      });
      // provider null is allowed.
      const none = await ctx.api('PATCH', `/api/v1/agents/${b.body.id}`, { provider: null });
      expect(none.body.provider).toBeNull();
    });
  });
}
