/**
 * Reading the relay configuration: a YAML file or an in-process object, then environment
 * overrides for the few settings operators change per deployment without editing the file.
 */
import { parseDocument } from 'yaml';
import { readFileSync } from 'node:fs';
import { ConfigError, parseYamlConfig, validateConfig } from '../../lib/yaml-config.js';
import { relayConfigSchema, type ParsedRelayConfig, type RelayConfig } from './schema.js';

/** Environment variable -> config path. Values are parsed as YAML scalars ("true", "5", "30s"). */
export const ENV_OVERRIDES: Record<string, string[]> = {
  RELAY_STRATEGY: ['strategy'],
  RELAY_CROSS_CHANNEL_FAILOVER: ['cross_channel_failover'],
  RELAY_MAX_ATTEMPTS: ['retry', 'max_attempts'],
  RELAY_MAX_CREDENTIAL_ROTATIONS: ['retry', 'max_credential_rotations'],
  RELAY_DEADLINE: ['retry', 'deadline'],
  RELAY_UPSTREAM_TIMEOUT: ['retry', 'upstream_timeout'],
  RELAY_FIRST_BYTE_TIMEOUT: ['retry', 'first_byte_timeout'],
  RELAY_HEALTH_INTERVAL: ['health', 'interval'],
  RELAY_HEALTH_ENABLED: ['health', 'enabled'],
  RELAY_STICKY_TTL: ['sticky', 'ttl'],
  RELAY_ADMIN_HOST: ['admin', 'host'],
  RELAY_ADMIN_PORT: ['admin', 'port'],
};

function scalar(text: string): unknown {
  return parseDocument(text).toJS();
}

/** A copy of the raw (unvalidated) config with environment overrides applied. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = out;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node[key] = child && typeof child === 'object' ? { ...(child as Record<string, unknown>) } : {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = scalar(value);
  }
  return out;
}

/** Loads and validates a YAML file; env overrides apply on top. Errors name file, line and field. */
export function loadRelayConfig(path: string, env: NodeJS.ProcessEnv = process.env): ParsedRelayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, line: 0, column: 0, field: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  // The file alone is validated first, so its own mistakes are reported with line numbers.
  const parsed = parseYamlConfig(text, relayConfigSchema, path);
  if (!Object.keys(ENV_OVERRIDES).some((k) => env[k])) return parsed;
  const raw = (parseDocument(text).toJS() ?? {}) as Record<string, unknown>;
  return validateConfig(applyEnvOverrides(raw, env), relayConfigSchema, `${path} + environment`);
}

export function parseRelayConfig(config: RelayConfig | unknown, source = '<config>'): ParsedRelayConfig {
  return validateConfig(config, relayConfigSchema, source);
}
