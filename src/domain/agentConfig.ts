/**
 * Agents' providers and the shape of their configs (docs/api.md#agents). The config is a provider's
 * connection settings (keys, ids, URLs): stored encrypted, never shown. `checkAgentConfig` is a shape
 * check only: it says whether the keys a provider needs are there, never whether they work.
 */

export const AGENT_PROVIDERS = ['vapi', 'livekit', 'pipecat', 'openai', 'retell', 'elevenlabs'] as const;
export type AgentProvider = (typeof AGENT_PROVIDERS)[number];

export function isAgentProvider(value: string): value is AgentProvider {
  return (AGENT_PROVIDERS as readonly string[]).includes(value);
}

/** The keys each provider's config must have, in the order they are reported missing. */
export const REQUIRED_CONFIG_KEYS: Readonly<Record<AgentProvider, readonly string[]>> = {
  vapi: ['assistant_id', 'api_key'],
  livekit: ['url', 'api_key', 'api_secret'],
  pipecat: ['url'],
  openai: ['api_key'],
  retell: ['agent_id', 'api_key'],
  elevenlabs: ['agent_id', 'api_key'],
};

/** The most a config may take, as UTF-8 JSON. */
export const CONFIG_MAX_BYTES = 16 * 1024;

/** Why a config is not usable, as `details.error_code` of the validate answer. */
export const CONFIG_ERROR_CODES = [
  'MISSING_PROVIDER',
  'UNSUPPORTED_PROVIDER',
  'MISSING_CONFIG',
  'MISSING_CONFIG_FIELD',
  'INVALID_CONFIG_FIELD',
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export type ConfigCheck =
  | { valid: true; message: string }
  | { valid: false; message: string; details: { error_code: ConfigErrorCode; field?: string } };

const invalid = (error_code: ConfigErrorCode, message: string, field?: string): ConfigCheck => ({
  valid: false,
  message,
  details: field === undefined ? { error_code } : { error_code, field },
});

/** `api_key` → `apiKey`: Preclinical reads each config key in either spelling. */
const camelCase = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The answer of POST /agents/{id}/validate for an agent's provider and (opened) config: the first
 * thing missing, or valid. A required key counts as there when it is a non-empty string, under its
 * name or its camelCase spelling (`apiKey`), as Preclinical accepts both.
 */
export function checkAgentConfig(
  provider: string | null,
  config: Record<string, unknown> | null,
): ConfigCheck {
  if (provider === null) return invalid('MISSING_PROVIDER', 'the agent has no provider');
  if (!isAgentProvider(provider)) {
    return invalid(
      'UNSUPPORTED_PROVIDER',
      `the agent's provider "${provider}" is not one of ${AGENT_PROVIDERS.join(', ')}`,
      'provider',
    );
  }
  if (config === null) return invalid('MISSING_CONFIG', 'the agent has no config', 'config');
  for (const key of REQUIRED_CONFIG_KEYS[provider]) {
    const value = config[key] ?? config[camelCase(key)];
    if (value === undefined || value === null) {
      return invalid('MISSING_CONFIG_FIELD', `config is missing ${key}`, key);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      return invalid('INVALID_CONFIG_FIELD', `config.${key} must be a non-empty string`, key);
    }
  }
  return {
    valid: true,
    message: `config has every field ${provider} needs (${REQUIRED_CONFIG_KEYS[provider].join(', ')}); the provider was not contacted`,
  };
}

/** The size of a config as stored, in bytes of UTF-8 JSON. */
export function configBytes(config: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(config), 'utf8');
}
