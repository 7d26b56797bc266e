// Pure translation of Consul's catalog and health payloads into backends (CONTRACT §1),
// and the per-service fingerprints that tell which services need a detail fetch.
import { PREFIX_PATTERN } from '../../config/schema.js';
import type { BackendSpec, InstanceSpec } from '../snapshot.js';
import type { HealthCheck, ServiceEntry } from './payloads.js';

/** Services carrying the opt-in tag, with their tags (sorted, for stable comparison). */
export function taggedServices(catalog: Record<string, string[]>, tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, tags] of Object.entries(catalog)) {
    if (tags.includes(tag)) out.set(name, [...tags].sort().join(','));
  }
  return out;
}

/**
 * One fingerprint per service from the cluster's checks: its own checks' ids, statuses and
 * modify indexes, plus the node checks of the nodes it runs on (a dead node fails them all).
 */
export function checkFingerprints(checks: readonly HealthCheck[], knownNodes: ReadonlyMap<string, ReadonlySet<string>>): Map<string, string> {
  const nodeChecks = new Map<string, string[]>();
  const serviceChecks = new Map<string, string[]>();
  const serviceNodes = new Map<string, Set<string>>();
  for (const check of checks) {
    const row = `${check.Node}/${check.ServiceID}/${check.CheckID}=${check.Status}@${check.ModifyIndex ?? ''}`;
    if (!check.ServiceID) {
      push(nodeChecks, check.Node, row);
      continue;
    }
    push(serviceChecks, check.ServiceName, row);
    let nodes = serviceNodes.get(check.ServiceName);
    if (!nodes) serviceNodes.set(check.ServiceName, (nodes = new Set()));
    nodes.add(check.Node);
  }
  for (const [service, nodes] of knownNodes) {
    let set = serviceNodes.get(service);
    if (!set) serviceNodes.set(service, (set = new Set()));
    for (const node of nodes) set.add(node);
  }
  const out = new Map<string, string>();
  for (const [service, nodes] of serviceNodes) {
    const rows = [...(serviceChecks.get(service) ?? [])];
    for (const node of nodes) rows.push(...(nodeChecks.get(node) ?? []));
    out.set(service, rows.sort().join('|'));
  }
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export interface ServiceResult {
  backend: BackendSpec | null;
  nodes: Set<string>;
  problems: string[];
}

/** Builds one backend from `/v1/health/service/:name`, keeping only instances with `tag`. */
export function backendFromEntries(service: string, entries: readonly ServiceEntry[], tag: string): ServiceResult {
  const problems: string[] = [];
  const nodes = new Set<string>();
  const instances: InstanceSpec[] = [];
  let prefix: string | undefined;
  for (const entry of [...entries].sort((a, b) => a.Service.ID.localeCompare(b.Service.ID))) {
    nodes.add(entry.Node.Node);
    const svc = entry.Service;
    if (!svc.Tags.includes(tag)) continue;
    const wanted = svc.Meta.mcp_prefix ?? service.toLowerCase();
    if (!PREFIX_PATTERN.test(wanted)) {
      problems.push(`instance ${svc.ID}: prefix "${wanted}" does not match ${PREFIX_PATTERN.source}; ignored`);
      continue;
    }
    if (prefix === undefined) prefix = wanted;
    else if (wanted !== prefix) {
      problems.push(`instance ${svc.ID}: prefix "${wanted}" differs from "${prefix}" of its service; ignored`);
      continue;
    }
    const scheme = svc.Meta.mcp_scheme ?? 'http';
    if (scheme !== 'http' && scheme !== 'https') {
      problems.push(`instance ${svc.ID}: mcp_scheme "${scheme}" is not http or https; ignored`);
      continue;
    }
    const address = svc.Address || entry.Node.Address;
    let path = svc.Meta.mcp_path ?? '/mcp';
    if (!path.startsWith('/')) path = `/${path}`;
    const host = address.includes(':') ? `[${address}]` : address;
    instances.push({
      id: svc.ID,
      url: `${scheme}://${host}:${svc.Port}${path}`,
      address,
      port: svc.Port,
      healthy: entry.Checks.every((c) => c.Status === 'passing'),
    });
  }
  if (prefix === undefined || instances.length === 0) return { backend: null, nodes, problems };
  return { backend: { prefix, service, source: 'consul', instances }, nodes, problems };
}
