// Two gateway replicas on one Consul and one Redis, as in docker-compose.multi.yml: both show
// in Consul as mcp-gateway with passing checks, both serve the same catalog, rate limits are
// shared through Redis, the compose file's haproxy config keeps each client session on one
// replica, and stopping one replica leaves the other serving.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { startDemoBackend, TEAM_KINDS, type DemoBackend } from '../../src/demo/backends.js';
import { registerWithConsul, type Registration } from '../../src/registration/register.js';
import { ServiceProcess, findBinary, repoRoot } from '../fixtures/child-process.js';
import { startConsul, type ConsulAgent } from '../fixtures/consul.js';
import { freePort } from '../fixtures/free-port.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';
import { sharedRedisUrl } from '../fixtures/redis.js';

const PREFIX: Record<string, string> = { ops: 'ops', hr: 'hr', finance: 'fin' };
const CALLS = [
  { name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } },
  { name: 'hr__search_policy', arguments: { query: '휴가' } },
  { name: 'fin__calculate_budget', arguments: { department: '운영팀', months: 6 } },
];
const HealthSchema = z.array(z.object({
  Service: z.object({ ID: z.string(), Port: z.number() }).loose(),
  Checks: z.array(z.object({ Status: z.string() }).loose()),
}).loose());

/** deploy/compose/haproxy.cfg with the replicas on loopback ports instead of compose hostnames. */
async function haproxyConfig(lbPort: number, ports: [number, number]): Promise<string> {
  const source = await readFile(join(repoRoot(), 'deploy/compose/haproxy.cfg'), 'utf8');
  const replacements: [RegExp, string][] = [
    [/^(\s*)bind :8000$/m, `$1bind 127.0.0.1:${lbPort}`],
    [/^(\s*server gateway-1) gateway-1:8000/m, `$1 127.0.0.1:${ports[0]}`],
    [/^(\s*server gateway-2) gateway-2:8000/m, `$1 127.0.0.1:${ports[1]}`],
  ];
  return replacements.reduce((text, [pattern, replacement]) => {
    assert.match(text, pattern, `deploy/compose/haproxy.cfg no longer has ${String(pattern)}`);
    return text.replace(pattern, replacement);
  }, source);
}

describe('two gateway replicas on one Consul and one Redis', () => {
  let consul: ConsulAgent;
  const backends: DemoBackend[] = [];
  const registrations: Registration[] = [];
  let gateways: [RunningGateway, RunningGateway];
  let haproxy: ServiceProcess | undefined;
  let lbUrl = '';
  let dir = '';
  const quiet = pino({ level: 'warn' });

  const gatewayHealth = async (): Promise<z.infer<typeof HealthSchema>> =>
    HealthSchema.parse(await (await fetch(`${consul.addr}/v1/health/service/mcp-gateway`)).json());
  const names = (gw: RunningGateway): string[] => gw.gateway.catalog.catalog.tools.map((t) => t.name).sort();

  before(async () => {
    consul = await startConsul();
    for (const kind of TEAM_KINDS) {
      const backend = await startDemoBackend(kind, { port: 0 });
      backends.push(backend);
      registrations.push(await registerWithConsul({
        name: kind, prefix: PREFIX[kind], url: backend.url, checkUrl: backend.healthUrl, consulAddr: consul.addr,
        interval: 500, deregisterOnSignal: false, logger: quiet,
      }));
    }
    const config = {
      discovery: { consul: { address: consul.addr, waitSeconds: 10 } },
      rateLimit: {
        redis: sharedRedisUrl(),
        keyPrefix: `replicas-${randomUUID()}`,
        // One rule shared by every caller: four calls in a minute, whichever replica takes them.
        tools: [{ match: 'hr__search_policy', points: 4, duration: 60 }],
      },
    };
    gateways = [await startGateway(config), await startGateway(config)];
  });

  after(async () => {
    await haproxy?.stop();
    await Promise.all((gateways ?? []).map((gw) => gw.close()));
    await Promise.all(registrations.map((r) => r.deregister()));
    await Promise.all(backends.map((b) => b.close()));
    await consul?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('both register in Consul as mcp-gateway, each with a passing check', async () => {
    const ports = gateways.map((gw) => Number(new URL(gw.url).port));
    await eventually(async () => {
      const entries = await gatewayHealth();
      return entries.length === 2 && entries.every((e) => e.Checks.every((c) => c.Status === 'passing'));
    }, 15_000, 'two passing mcp-gateway instances');
    const ids = (await gatewayHealth()).map((e) => e.Service.ID).sort();
    assert.deepEqual(ids, ports.map((p) => `mcp-gateway-127.0.0.1-${p}`).sort());
  });

  it('both serve the same catalog: every team\'s tools, and a call of each through each replica', async () => {
    for (const gw of gateways) {
      await eventually(() => Object.values(PREFIX).every((p) => names(gw).some((n) => n.startsWith(`${p}__`))), 10_000, `all backends on ${gw.url}`);
    }
    assert.deepEqual(names(gateways[0]), names(gateways[1]));
    for (const gw of gateways) {
      const client = await connectClient(gw.mcpUrl);
      const listed = (await client.client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(listed, names(gateways[0]), `a client of ${gw.url} sees the same tools`);
      for (const call of CALLS.filter((c) => c.name !== 'hr__search_policy')) {
        const result = await client.client.callTool(call);
        assert.notEqual(result.isError, true, `${call.name} via ${gw.url}: ${textOf(result)}`);
      }
      await client.close();
    }
  });

  it('shares rate limits through Redis: a rule\'s points are spent across both replicas', async () => {
    const [a, b] = await Promise.all(gateways.map((gw) => connectClient(gw.mcpUrl)));
    const call = CALLS[1]!;
    for (const client of [a!, b!, a!, b!]) {
      const result = await client.client.callTool(call);
      assert.notEqual(result.isError, true, textOf(result));
    }
    // The fifth call is refused (HTTP 429, JSON-RPC -32029) whichever replica takes it.
    const refused = (error: unknown): boolean => {
      assert.match(String(error), /429|-32029/, String(error));
      return true;
    };
    await assert.rejects(b!.client.callTool(call), refused);
    await assert.rejects(a!.client.callTool(call), refused);
    await Promise.all([a!.close(), b!.close()]);
  });

  it('behind the compose file\'s haproxy, sessions stick to one replica and spread over both', async () => {
    const bin = await findBinary('HAPROXY_BIN', 'haproxy', ['/usr/sbin/haproxy']);
    const lbPort = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'mcp-lb-'));
    const cfg = join(dir, 'haproxy.cfg');
    const ports = gateways.map((gw) => Number(new URL(gw.url).port)) as [number, number];
    await writeFile(cfg, await haproxyConfig(lbPort, ports));
    haproxy = new ServiceProcess('haproxy', bin, ['-db', '-f', cfg]);
    lbUrl = `http://127.0.0.1:${lbPort}`;
    await eventually(async () => (await fetch(`${lbUrl}/lb-healthz`)).ok && (await fetch(`${lbUrl}/readyz`)).ok, 10_000, `haproxy up\n${haproxy.tail()}`);

    const before = gateways.map((gw) => gw.gateway.sessions.size);
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await connectClient(`${lbUrl}/mcp`));
    for (const client of clients) {
      // Every request after initialize carries the session id: without stickiness every
      // other one would reach the replica that does not know it and get 404.
      for (let round = 0; round < 3; round++) {
        const result = await client.client.callTool(CALLS[0]!);
        assert.notEqual(result.isError, true, textOf(result));
      }
      await client.client.listTools();
    }
    const opened = gateways.map((gw, i) => gw.gateway.sessions.size - before[i]!);
    assert.deepEqual(opened, [2, 2], 'round robin for new sessions: two on each replica');
    await Promise.all(clients.map((c) => c.close()));
  });

  it('stopping one replica leaves the other serving, directly and through the load balancer', async () => {
    assert.ok(lbUrl, 'the haproxy test ran first');
    const [first, second] = gateways;
    const direct = await connectClient(second.mcpUrl);
    await first.close();
    await eventually(async () => (await gatewayHealth()).length === 1, 10_000, 'the stopped replica deregistered');
    assert.equal((await gatewayHealth())[0]?.Service.Port, Number(new URL(second.url).port));

    const result = await direct.client.callTool(CALLS[2]!);
    assert.notEqual(result.isError, true, textOf(result));
    await direct.close();
    for (let i = 0; i < 3; i++) {
      const client = await connectClient(`${lbUrl}/mcp`);
      const viaLb = await client.client.callTool(CALLS[0]!);
      assert.notEqual(viaLb.isError, true, textOf(viaLb));
      await client.close();
    }
  });
});
