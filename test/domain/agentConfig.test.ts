import { describe, expect, it } from 'vitest';
import {
  AGENT_PROVIDERS,
  checkAgentConfig,
  configBytes,
  REQUIRED_CONFIG_KEYS,
} from '../../src/domain/agentConfig.js';

describe('checkAgentConfig', () => {
  const table: Array<[string | null, Record<string, unknown> | null, string, string | undefined]> = [
    [null, { api_key: 'k' }, 'MISSING_PROVIDER', undefined],
    ['playwright', { api_key: 'k' }, 'UNSUPPORTED_PROVIDER', 'provider'],
    ['openai', null, 'MISSING_CONFIG', 'config'],
    ['vapi', {}, 'MISSING_CONFIG_FIELD', 'assistant_id'],
    ['vapi', { assistant_id: 'a' }, 'MISSING_CONFIG_FIELD', 'api_key'],
    ['vapi', { assistant_id: 'a', api_key: null }, 'MISSING_CONFIG_FIELD', 'api_key'],
    ['vapi', { assistant_id: 'a', api_key: 42 }, 'INVALID_CONFIG_FIELD', 'api_key'],
    ['retell', { agent_id: '', api_key: 'k' }, 'INVALID_CONFIG_FIELD', 'agent_id'],
    ['elevenlabs', { api_key: 'k' }, 'MISSING_CONFIG_FIELD', 'agent_id'],
    ['livekit', { url: 'wss://x', api_key: 'k' }, 'MISSING_CONFIG_FIELD', 'api_secret'],
    ['pipecat', { api_key: 'k' }, 'MISSING_CONFIG_FIELD', 'url'],
  ];
  it.each(table)('%s %j → %s', (provider, config, code, field) => {
    const result = checkAgentConfig(provider, config);
    expect(result.valid).toBe(false);
    if (result.valid) return;
    expect(result.details.error_code).toBe(code);
    expect(result.details.field).toBe(field);
    if (code === 'MISSING_CONFIG_FIELD') expect(result.message).toBe(`config is missing ${field}`);
  });

  it('is valid for every provider given its required keys, extra keys allowed', () => {
    for (const provider of AGENT_PROVIDERS) {
      const config = Object.fromEntries(REQUIRED_CONFIG_KEYS[provider].map((k) => [k, 'v']));
      const result = checkAgentConfig(provider, { ...config, extra: { nested: true } });
      expect(result, provider).toMatchObject({ valid: true });
      expect(result).not.toHaveProperty('details');
    }
  });

  it('takes the camelCase spelling of a key too', () => {
    expect(checkAgentConfig('vapi', { assistantId: 'a', apiKey: 'k' }).valid).toBe(true);
    expect(checkAgentConfig('livekit', { url: 'wss://x', apiKey: 'k', apiSecret: 's' }).valid).toBe(true);
    expect(checkAgentConfig('retell', { agentId: 'a' })).toMatchObject({ details: { field: 'api_key' } });
  });

  it('never puts a config value in its message', () => {
    const result = checkAgentConfig('vapi', { assistant_id: 'asst_secret_value', api_key: '' });
    expect(JSON.stringify(result)).not.toContain('asst_secret_value');
  });

  it('measures configs as UTF-8 JSON bytes', () => {
    expect(configBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
  });
});
