// Consul payloads to backends (CONTRACT §1), with no Consul: realistic Consul 1.8 JSON is
// parsed through the zod schemas first, as the source does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendFromEntries, checkFingerprints, taggedServices } from '../../src/discovery/consul/backends.js';
import {
  CatalogServicesSchema,
  HealthChecksSchema,
  ServiceEntriesSchema,
  type HealthCheck,
  type ServiceEntry,
} from '../../src/discovery/consul/payloads.js';

// ---- payload builders, shaped like Consul 1.8's answers ----

interface NodeSpec { name: string; address: string }

const NODES: Record<string, NodeSpec> = {
  n1: { name: 'node-1', address: '10.0.0.11' },
  n2: { name: 'node-2', address: '10.0.0.12' },
  v6: { name: 'node-v6', address: '2001:db8::12' },
};

/** One row of /v1/health/state/any or of an entry's Checks. */
function checkJson(node: string, checkId: string, status: string, service?: { id: string; name: string; tags: string[] }, modifyIndex = 20): Record<string, unknown> {
  return {
    Node: node,
    CheckID: checkId,
    Name: service ? `Service '${service.name}' check` : 'Serf Health Status',
    Status: status,
    Notes: '',
    Output: status === 'passing' ? 'HTTP GET http://10.0.0.11:8001/health: 200 OK' : 'connection refused',
    ServiceID: service?.id ?? '',
    ServiceName: service?.name ?? '',
    ServiceTags: service?.tags ?? [],
    Type: service ? 'http' : '',
    Definition: { Interval: '0s', Timeout: '0s', DeregisterCriticalServiceAfter: '0s', HTTP: '', Header: null, Method: '', Body: '', TLSSkipVerify: false, TCP: '' },
    CreateIndex: 10,
    ModifyIndex: modifyIndex,
  };
}

interface InstanceJson {
  node: NodeSpec;
  id: string;
  service: string;
  tags?: string[] | null;
  address?: string;
  port: number;
  meta?: Record<string, string> | null;
  serviceStatus?: string | null;
  nodeStatus?: string;
  /** Service maintenance mode: Consul adds a critical `_service_maintenance:<id>` check. */
  maintenance?: boolean;
}

/** One entry of /v1/health/service/:name. */
function entryJson(i: InstanceJson): Record<string, unknown> {
  const tags = i.tags === undefined ? ['mcp'] : i.tags;
  const checks = [checkJson(i.node.name, 'serfHealth', i.nodeStatus ?? 'passing')];
  if (i.serviceStatus !== null) {
    checks.push(checkJson(i.node.name, `service:${i.id}`, i.serviceStatus ?? 'passing', { id: i.id, name: i.service, tags: tags ?? [] }));
  }
  if (i.maintenance) {
    checks.push({ ...checkJson(i.node.name, `_service_maintenance:${i.id}`, 'critical', { id: i.id, name: i.service, tags: tags ?? [] }), Name: 'Service Maintenance Mode', Type: 'maintenance' });
  }
  return {
    Node: {
      ID: '40e4a748-2192-161a-0510-9bf59fe950b5',
      Node: i.node.name,
      Address: i.node.address,
      Datacenter: 'dc1',
      TaggedAddresses: { lan: i.node.address, lan_ipv4: i.node.address, wan: i.node.address, wan_ipv4: i.node.address },
      Meta: { 'consul-network-segment': '' },
      CreateIndex: 5,
      ModifyIndex: 6,
    },
    Service: {
      ID: i.id,
      Service: i.service,
      Tags: tags,
      Address: i.address ?? '',
      TaggedAddresses: i.address ? { lan_ipv4: { Address: i.address, Port: i.port }, wan_ipv4: { Address: i.address, Port: i.port } } : null,
      Meta: i.meta === undefined ? null : i.meta,
      Port: i.port,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Proxy: { MeshGateway: {}, Expose: {} },
      Connect: {},
      CreateIndex: 12,
      ModifyIndex: 12,
    },
    Checks: checks,
  };
}

function entries(...instances: InstanceJson[]): ServiceEntry[] {
  // Through JSON, as it comes off the wire.
  return ServiceEntriesSchema.parse(JSON.parse(JSON.stringify(instances.map(entryJson))));
}

function healthState(rows: Record<string, unknown>[]): HealthCheck[] {
  return HealthChecksSchema.parse(JSON.parse(JSON.stringify(rows)));
}

// ---- taggedServices ----

describe('taggedServices', () => {
  test('keeps services with the tag, with their tags sorted', () => {
    const catalog = CatalogServicesSchema.parse(JSON.parse(JSON.stringify({
      consul: [],
      ops: ['mcp', 'v2', 'blue'],
      hr: ['mcp'],
      web: ['http', 'primary'],
      redis: null,
      'mcp-gateway': ['mcp-gateway'],
    })));
    const tagged = taggedServices(catalog, 'mcp');
    assert.deepEqual([...tagged.keys()].sort(), ['hr', 'ops']);
    assert.equal(tagged.get('ops'), 'blue,mcp,v2');
    assert.equal(tagged.get('hr'), 'mcp');
  });

  test('the tag is configurable and matched exactly', () => {
    const catalog = { ops: ['mcp'], tools: ['mcp-tools'], hr: ['MCP-TOOLS'] };
    assert.deepEqual([...taggedServices(catalog, 'mcp-tools').keys()], ['tools']);
  });

  test('tag order does not change the value', () => {
    assert.equal(taggedServices({ a: ['x', 'mcp'] }, 'mcp').get('a'), taggedServices({ a: ['mcp', 'x'] }, 'mcp').get('a'));
  });
});

// ---- checkFingerprints ----

describe('checkFingerprints', () => {
  const ops1 = { id: 'ops-1', name: 'ops', tags: ['mcp'] };
  const ops2 = { id: 'ops-2', name: 'ops', tags: ['mcp'] };
  const hr1 = { id: 'hr-1', name: 'hr', tags: ['mcp'] };
  const fin1 = { id: 'finance-1', name: 'finance', tags: ['mcp'] };

  /** ops on node-1 and node-2, hr on node-1, finance on node-2, each with one service check. */
  function cluster(changes: { node1?: string; node1Index?: number; ops2?: string; ops2Index?: number; hr?: string } = {}): HealthCheck[] {
    return healthState([
      checkJson('node-1', 'serfHealth', changes.node1 ?? 'passing', undefined, changes.node1Index ?? 20),
      checkJson('node-2', 'serfHealth', 'passing'),
      checkJson('node-1', 'service:ops-1', 'passing', ops1),
      checkJson('node-2', 'service:ops-2', changes.ops2 ?? 'passing', ops2, changes.ops2Index ?? 20),
      checkJson('node-1', 'service:hr-1', changes.hr ?? 'passing', hr1),
      checkJson('node-2', 'service:finance-1', 'passing', fin1),
    ]);
  }
  const known = new Map<string, Set<string>>();

  function changedServices(a: Map<string, string>, b: Map<string, string>): string[] {
    const services = new Set([...a.keys(), ...b.keys()]);
    return [...services].filter((s) => a.get(s) !== b.get(s)).sort();
  }

  test('one fingerprint per service, stable for the same checks in any order', () => {
    const base = checkFingerprints(cluster(), known);
    assert.deepEqual([...base.keys()].sort(), ['finance', 'hr', 'ops']);
    assert.deepEqual(checkFingerprints([...cluster()].reverse(), known), base);
  });

  test('a node check change changes every service on that node and no other', () => {
    const base = checkFingerprints(cluster(), known);
    const after = checkFingerprints(cluster({ node1: 'critical', node1Index: 31 }), known);
    assert.deepEqual(changedServices(base, after), ['hr', 'ops']);
  });

  test('a service check status change changes only that service', () => {
    const base = checkFingerprints(cluster(), known);
    assert.deepEqual(changedServices(base, checkFingerprints(cluster({ ops2: 'critical', ops2Index: 32 }), known)), ['ops']);
    assert.deepEqual(changedServices(base, checkFingerprints(cluster({ hr: 'warning' }), known)), ['hr']);
  });

  test('a modify index change alone (same status) is a change too', () => {
    const base = checkFingerprints(cluster(), known);
    assert.deepEqual(changedServices(base, checkFingerprints(cluster({ ops2Index: 99 }), known)), ['ops']);
  });

  test('a service without checks of its own follows its nodes, known from its last fetch', () => {
    const nodes = new Map([['nochecks', new Set(['node-2'])]]);
    const base = checkFingerprints(cluster(), nodes);
    assert.ok(base.has('nochecks'));
    const nodeTwoDown = healthState([
      ...cluster().map((c) => ({ ...c })).filter((c) => !(c.Node === 'node-2' && c.ServiceID === '')),
      checkJson('node-2', 'serfHealth', 'critical', undefined, 40),
    ]);
    const after = checkFingerprints(nodeTwoDown, nodes);
    assert.deepEqual(changedServices(base, after), ['finance', 'nochecks', 'ops']);
    // node-1 going down leaves it alone.
    assert.ok(!changedServices(base, checkFingerprints(cluster({ node1: 'critical', node1Index: 31 }), nodes)).includes('nochecks'));
  });

  test('an unrelated node\'s checks do not appear in any fingerprint', () => {
    const base = checkFingerprints(cluster(), known);
    const withStranger = checkFingerprints(healthState([
      ...cluster().map((c) => ({ ...c })),
      checkJson('node-9', 'serfHealth', 'critical'),
    ]), known);
    assert.deepEqual(changedServices(base, withStranger), []);
  });
});

// ---- backendFromEntries ----

describe('backendFromEntries', () => {
  test('defaults: prefix is the service name, path /mcp, scheme http, node address when Service.Address is empty', () => {
    const result = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001 }), 'mcp');
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.backend, {
      prefix: 'ops',
      service: 'ops',
      source: 'consul',
      instances: [{ id: 'ops-1', url: 'http://10.0.0.11:8001/mcp', address: '10.0.0.11', port: 8001, healthy: true }],
    });
    assert.deepEqual([...result.nodes], ['node-1']);
  });

  test('Service.Address wins over the node address', () => {
    const result = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', address: '172.17.0.5', port: 8001 }), 'mcp');
    assert.equal(result.backend?.instances[0]?.url, 'http://172.17.0.5:8001/mcp');
    assert.equal(result.backend?.instances[0]?.address, '172.17.0.5');
  });

  const metaCases: [string, Record<string, string>, string, string][] = [
    ['mcp_prefix overrides the service name', { mcp_prefix: 'operations' }, 'operations', 'http://10.0.0.11:8001/mcp'],
    ['mcp_path overrides /mcp', { mcp_path: '/v1/mcp' }, 'ops-service', 'http://10.0.0.11:8001/v1/mcp'],
    ['mcp_path without a leading slash gets one', { mcp_path: 'mcp/stream' }, 'ops-service', 'http://10.0.0.11:8001/mcp/stream'],
    ['mcp_scheme https', { mcp_scheme: 'https' }, 'ops-service', 'https://10.0.0.11:8001/mcp'],
    ['all three', { mcp_prefix: 'ops', mcp_path: '/api/mcp', mcp_scheme: 'https' }, 'ops', 'https://10.0.0.11:8001/api/mcp'],
    ['unrelated meta is ignored', { version: '1.2.3', team: 'platform' }, 'ops-service', 'http://10.0.0.11:8001/mcp'],
  ];
  for (const [label, meta, prefix, url] of metaCases) {
    test(`Meta: ${label}`, () => {
      const result = backendFromEntries('ops-service', entries({ node: NODES.n1!, id: 'ops-service-1', service: 'ops-service', port: 8001, meta }), 'mcp');
      assert.deepEqual(result.problems, []);
      assert.equal(result.backend?.prefix, prefix);
      assert.equal(result.backend?.service, 'ops-service');
      assert.equal(result.backend?.instances[0]?.url, url);
    });
  }

  test('a service name with capitals gives a lower-case prefix', () => {
    const result = backendFromEntries('Ops', entries({ node: NODES.n1!, id: 'Ops-1', service: 'Ops', port: 8001 }), 'mcp');
    assert.equal(result.backend?.prefix, 'ops');
  });

  const badPrefixes: [string, InstanceJson][] = [
    ['an invalid mcp_prefix', { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_prefix: 'Ops_Team' } }],
    ['a too long mcp_prefix', { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_prefix: 'o'.repeat(33) } }],
    ['a service name that is no valid prefix', { node: NODES.n1!, id: 'ops_team-1', service: 'ops_team', port: 8001 }],
  ];
  for (const [label, instance] of badPrefixes) {
    test(`${label} is reported and the instance skipped`, () => {
      const result = backendFromEntries(instance.service, entries(instance), 'mcp');
      assert.equal(result.backend, null);
      assert.equal(result.problems.length, 1);
      assert.match(result.problems[0]!, /instance .*-1: prefix ".*" does not match/);
    });
  }

  test('an invalid prefix on one instance leaves the valid ones', () => {
    const result = backendFromEntries('ops', entries(
      { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_prefix: 'BAD' } },
      { node: NODES.n2!, id: 'ops-2', service: 'ops', port: 8001 },
    ), 'mcp');
    assert.equal(result.backend?.prefix, 'ops');
    assert.deepEqual(result.backend?.instances.map((i) => i.id), ['ops-2']);
    assert.equal(result.problems.length, 1);
  });

  test('instances whose prefix differs from the first (by ID) are reported and skipped', () => {
    const result = backendFromEntries('ops', entries(
      { node: NODES.n2!, id: 'ops-2', service: 'ops', port: 8002, meta: { mcp_prefix: 'ops-next' } },
      { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_prefix: 'ops' } },
      { node: NODES.n1!, id: 'ops-3', service: 'ops', port: 8003 },
    ), 'mcp');
    assert.equal(result.backend?.prefix, 'ops');
    assert.deepEqual(result.backend?.instances.map((i) => i.id), ['ops-1', 'ops-3']);
    assert.equal(result.problems.length, 1);
    assert.match(result.problems[0]!, /ops-2: prefix "ops-next" differs from "ops"/);
  });

  test('an mcp_scheme other than http or https is reported and skipped', () => {
    const result = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_scheme: 'ftp' } }), 'mcp');
    assert.equal(result.backend, null);
    assert.match(result.problems[0] ?? '', /mcp_scheme "ftp"/);
  });

  const health: [string, Partial<InstanceJson>, boolean][] = [
    ['service and node checks passing', {}, true],
    ['service check critical', { serviceStatus: 'critical' }, false],
    ['service check warning', { serviceStatus: 'warning' }, false],
    ['node check critical, service check passing', { nodeStatus: 'critical' }, false],
    ['the service is in maintenance mode', { maintenance: true }, false],
    ['no service check, node passing', { serviceStatus: null }, true],
    ['no service check, node critical', { serviceStatus: null, nodeStatus: 'critical' }, false],
  ];
  for (const [label, overrides, healthy] of health) {
    test(`healthy is ${healthy} when ${label}`, () => {
      const result = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, ...overrides }), 'mcp');
      assert.equal(result.backend?.instances[0]?.healthy, healthy);
    });
  }

  test('an unhealthy instance stays listed, so replicas keep their ids', () => {
    const result = backendFromEntries('ops', entries(
      { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001, serviceStatus: 'critical' },
      { node: NODES.n2!, id: 'ops-2', service: 'ops', port: 8001 },
    ), 'mcp');
    assert.deepEqual(result.backend?.instances.map((i) => [i.id, i.healthy]), [['ops-1', false], ['ops-2', true]]);
  });

  test('instances without the tag are dropped (their nodes still noted)', () => {
    const result = backendFromEntries('ops', entries(
      { node: NODES.n1!, id: 'ops-1', service: 'ops', port: 8001 },
      { node: NODES.n2!, id: 'ops-legacy', service: 'ops', port: 9000, tags: ['legacy'] },
      { node: NODES.n2!, id: 'ops-null-tags', service: 'ops', port: 9001, tags: null },
    ), 'mcp');
    assert.deepEqual(result.backend?.instances.map((i) => i.id), ['ops-1']);
    assert.deepEqual([...result.nodes].sort(), ['node-1', 'node-2']);
    assert.deepEqual(result.problems, []);
  });

  test('no tagged instance: no backend', () => {
    const result = backendFromEntries('web', entries({ node: NODES.n1!, id: 'web-1', service: 'web', port: 80, tags: ['http'] }), 'mcp');
    assert.equal(result.backend, null);
    assert.deepEqual(result.problems, []);
  });

  test('no entries at all (the service left): no backend', () => {
    const result = backendFromEntries('ops', entries(), 'mcp');
    assert.equal(result.backend, null);
    assert.equal(result.nodes.size, 0);
  });

  test('an IPv6 address is bracketed in the URL but not in `address`', () => {
    const fromService = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', address: 'fd00::5', port: 8001 }), 'mcp');
    assert.equal(fromService.backend?.instances[0]?.url, 'http://[fd00::5]:8001/mcp');
    assert.equal(fromService.backend?.instances[0]?.address, 'fd00::5');
    assert.doesNotThrow(() => new URL(fromService.backend!.instances[0]!.url));
    const fromNode = backendFromEntries('ops', entries({ node: NODES.v6!, id: 'ops-1', service: 'ops', port: 8001, meta: { mcp_scheme: 'https' } }), 'mcp');
    assert.equal(fromNode.backend?.instances[0]?.url, 'https://[2001:db8::12]:8001/mcp');
  });

  test('a hostname address is used as is', () => {
    const result = backendFromEntries('ops', entries({ node: NODES.n1!, id: 'ops-1', service: 'ops', address: 'ops.service.consul', port: 8001 }), 'mcp');
    assert.equal(result.backend?.instances[0]?.url, 'http://ops.service.consul:8001/mcp');
  });

  test('instances are ordered by service ID whatever Consul\'s order', () => {
    const a = { node: NODES.n1!, id: 'ops-b', service: 'ops', port: 8002 };
    const b = { node: NODES.n2!, id: 'ops-a', service: 'ops', port: 8001 };
    const forward = backendFromEntries('ops', entries(a, b), 'mcp');
    const backward = backendFromEntries('ops', entries(b, a), 'mcp');
    assert.deepEqual(forward, backward);
    assert.deepEqual(forward.backend?.instances.map((i) => i.id), ['ops-a', 'ops-b']);
  });
});
