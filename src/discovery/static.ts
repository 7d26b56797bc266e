// Static backends, from the config file and from the seed tutorial's `<NAME>_SERVER_URL`
// variables: a source that emits once and never changes.
import type { StaticBackend } from '../config/schema.js';
import { PREFIX_PATTERN } from '../config/schema.js';
import type { BackendSpec, Snapshot, Source } from './snapshot.js';
import { deepFreeze } from './snapshot.js';

export function staticBackend(entry: StaticBackend, source: string): BackendSpec {
  if (entry.command !== undefined) {
    return {
      prefix: entry.prefix,
      service: entry.prefix,
      source,
      instances: [{
        id: `${entry.prefix}-stdio`,
        url: `stdio:${[entry.command, ...(entry.args ?? [])].join(' ')}`,
        address: 'localhost',
        port: 0,
        healthy: true,
        stdio: { command: entry.command, args: entry.args ?? [], ...(entry.env ? { env: entry.env } : {}), ...(entry.cwd ? { cwd: entry.cwd } : {}) },
      }],
    };
  }
  const url = new URL(entry.url!);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return {
    prefix: entry.prefix,
    service: entry.prefix,
    source,
    instances: [{ id: `${entry.prefix}-${url.host}`, url: entry.url!, address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, healthy: true }],
    ...(entry.headers ? { headers: entry.headers } : {}),
  };
}

/** `OPS_SERVER_URL=http://host:port/mcp` gives prefix `ops` (CONTRACT §3). */
export function backendsFromEnv(env: Record<string, string | undefined>): { backends: StaticBackend[]; errors: string[] } {
  const backends: StaticBackend[] = [];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    const match = /^([A-Z0-9][A-Z0-9_]*)_SERVER_URL$/.exec(key);
    if (!match?.[1] || !value) continue;
    const prefix = match[1].toLowerCase().replace(/_/g, '-');
    if (!PREFIX_PATTERN.test(prefix)) {
      errors.push(`${key}: prefix "${prefix}" does not match ${PREFIX_PATTERN.source}`);
      continue;
    }
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      errors.push(`${key}: not an http(s) URL: "${value}"`);
      continue;
    }
    backends.push({ prefix, url: value });
  }
  return { backends, errors };
}

export class StaticSource implements Source {
  constructor(readonly name: string, private readonly entries: readonly StaticBackend[]) {}

  async start(emit: (snapshot: Snapshot) => void): Promise<void> {
    emit(deepFreeze({ source: this.name, backends: this.entries.map((e) => staticBackend(e, this.name)) }));
  }

  async close(): Promise<void> {}
}
