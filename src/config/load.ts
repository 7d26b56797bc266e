// Reads the config file (YAML or JSON), applies the environment overrides of CONTRACT §3
// and validates the result; a bad file becomes a ConfigError that names the field.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

/** Consul's own CONSUL_HTTP_ADDR may omit the scheme ("127.0.0.1:8500"). */
export function normalizeConsulAddress(address: string): string {
  return /^https?:\/\//.test(address) ? address : `http://${address}`;
}

function section(parent: Json, key: string): Json {
  const existing = parent[key];
  if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as Json;
  const created: Json = {};
  parent[key] = created;
  return created;
}

/** Environment variables win over the file, as operators expect from twelve-factor services. */
export function applyEnv(raw: Json, env: Env): Json {
  const out = structuredClone(raw);
  if (env.HOST) section(out, 'server').host = env.HOST;
  if (env.PORT) {
    const port = /^\d+$/.test(env.PORT) ? Number(env.PORT) : Number.NaN;
    if (!Number.isInteger(port)) throw new ConfigError(`PORT: not a port number: "${env.PORT}"`);
    section(out, 'server').port = port;
  }
  if (env.CONSUL_HTTP_ADDR) {
    section(section(out, 'discovery'), 'consul').address = normalizeConsulAddress(env.CONSUL_HTTP_ADDR);
  }
  if (env.CONSUL_HTTP_TOKEN) {
    const discovery = section(out, 'discovery');
    if (discovery.consul) section(discovery, 'consul').token = env.CONSUL_HTTP_TOKEN;
  }
  if (env.REDIS_URL) section(out, 'rateLimit').redis = env.REDIS_URL;
  if (env.LOG_LEVEL) section(out, 'logging').level = env.LOG_LEVEL;
  return out;
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export function parseConfig(raw: unknown, env: Env = {}): Config {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config: expected a mapping at the top level');
  raw = structuredClone(raw);
  if (typeof (raw as Json).discovery === 'object' && (raw as { discovery: Json }).discovery?.consul) {
    const consul = (raw as { discovery: { consul: Json } }).discovery.consul;
    if (typeof consul.address === 'string') consul.address = normalizeConsulAddress(consul.address);
  }
  const result = ConfigSchema.safeParse(applyEnv(raw as Json, env));
  if (!result.success) throw new ConfigError(`invalid config: ${describe(result.error)}`);
  return result.data;
}

/** Loads `path` (or MCP_GATEWAY_CONFIG; none: embedded defaults) and validates it. */
export async function loadConfig(path: string | undefined, env: Env = process.env): Promise<Config> {
  const file = path ?? env.MCP_GATEWAY_CONFIG;
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid YAML or JSON: ${(error as Error).message}`);
    }
  }
  return parseConfig(raw, env);
}
