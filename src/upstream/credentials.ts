// Headers a backend needs from the gateway (its own API token, say): from the config per
// prefix, from a static backend's entry, and from Consul KV `<kvPrefix>/<prefix>/headers`
// (a JSON object) — never from service Meta, which every catalog reader can see, and never
// the client's own token. Read at each (re)connect, so a rotated secret is picked up.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ConsulSource } from '../discovery/consul/source.js';

export type HeadersFor = (prefix: string, fromSpec: Readonly<Record<string, string>> | undefined) => Promise<Record<string, string>>;

const HeadersSchema = z.record(z.string(), z.string());

export function credentialHeaders(
  configured: Readonly<Record<string, Record<string, string>>>,
  kv: { source: ConsulSource; prefix: string } | undefined,
  log: Logger,
): HeadersFor {
  return async (prefix, fromSpec) => {
    const headers: Record<string, string> = { ...(fromSpec ?? {}), ...(configured[prefix] ?? {}) };
    if (!kv) return headers;
    const key = `${kv.prefix.replace(/\/$/, '')}/${prefix}/headers`;
    try {
      const entry = (await kv.source.client.kv.get({ key, timeout: 5000 } as never)) as { Value?: string } | undefined;
      if (entry?.Value) Object.assign(headers, HeadersSchema.parse(JSON.parse(entry.Value)));
    } catch (error) {
      log.warn({ backend: prefix, key, err: (error as Error).message }, 'reading backend headers from consul kv failed');
    }
    return headers;
  };
}
