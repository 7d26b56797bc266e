// The gateway against a real Consul agent: backends hot-added and removed as they register,
// pass or fail checks and leave; replicas; and Consul itself going away and coming back empty.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { startConsul, type ConsulAgent } from '../fixtures/consul.js';
import { checkStatuses, deregisterInstance, failCheck, passCheck, registerInstance } from '../fixtures/consul-api.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

const toolNames = (gw: RunningGateway): string[] => gw.gateway.catalog.catalog.tools.map((t) => t.name);

describe('gateway driven by Consul', () => {
  let consul: ConsulAgent;
  let gw: RunningGateway;
  const backends: TestBackend[] = [];

  before(async () => {
    consul = await startConsul();
    gw = await startGateway({ discovery: { consul: { address: consul.addr, waitSeconds: 30 } } });
    await eventually(() => gw.gateway.discovery.ready, 10_000, 'first consul sync');
  });

  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul.stop();
  });

  it('registers itself as mcp-gateway with a passing /healthz check', async () => {
    await eventually(async () => (await checkStatuses(consul.addr, 'mcp-gateway'))[gw.gateway.consul ? `mcp-gateway-127.0.0.1-${new URL(gw.url).port}` : ''] === 'passing', 15_000, 'gateway check passing');
    const res = await fetch(`${consul.addr}/v1/catalog/service/mcp-gateway`);
    const [entry] = (await res.json()) as { ServiceTags: string[] }[];
    assert.deepEqual(entry?.ServiceTags, ['mcp-gateway']);
  });

  it('hot-adds a backend whose check passes, notifies sessions, routes calls; removes it on failure and deregistration', async () => {
    const ops = await startBackend({ name: 'ops-a', tools: [{ name: 'lookup_inventory' }, { name: 'search' }] });
    backends.push(ops);
    const c = await connectClient(gw.mcpUrl);
    await c.client.listTools();

    await registerInstance(consul.addr, { name: 'ops', id: 'ops-a', port: ops.port, meta: { mcp_prefix: 'ops' } });
    // Critical until the first pass: not routed.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!toolNames(gw).includes('ops__search'), 'a critical instance is not routed');

    let changed = c.nextChange();
    await passCheck(consul.addr, 'ops-a');
    await changed;
    const listed = (await c.client.listTools()).tools.map((t) => t.name);
    assert.ok(listed.includes('ops__lookup_inventory') && listed.includes('ops__search'));
    const result = JSON.parse(textOf(await c.client.callTool({ name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } })));
    assert.deepEqual(result, { tool: 'lookup_inventory', args: { item_name: '노트북' }, instance: 'ops-a' });

    changed = c.nextChange();
    await failCheck(consul.addr, 'ops-a');
    await changed;
    assert.ok(!(await c.client.listTools()).tools.some((t) => t.name.startsWith('ops__')), 'failing check removes the tools');

    changed = c.nextChange();
    await passCheck(consul.addr, 'ops-a');
    await changed;
    assert.ok((await c.client.listTools()).tools.some((t) => t.name === 'ops__search'));

    changed = c.nextChange();
    await deregisterInstance(consul.addr, 'ops-a');
    await changed;
    assert.ok(!(await c.client.listTools()).tools.some((t) => t.name.startsWith('ops__')), 'deregistration removes the tools');
    await c.close();
  });

  it('keeps same-named tools of two backends apart, and ignores services without the tag', async () => {
    const hr = await startBackend({ name: 'hr-a', tools: [{ name: 'search' }] });
    const fin = await startBackend({ name: 'fin-a', tools: [{ name: 'search' }] });
    const other = await startBackend({ name: 'other', tools: [{ name: 'search' }] });
    backends.push(hr, fin, other);
    await registerInstance(consul.addr, { name: 'hr', id: 'hr-a', port: hr.port });
    await registerInstance(consul.addr, { name: 'finance', id: 'fin-a', port: fin.port, meta: { mcp_prefix: 'fin' } });
    await registerInstance(consul.addr, { name: 'web', id: 'web-a', port: other.port, tags: ['http'] });
    await Promise.all(['hr-a', 'fin-a', 'web-a'].map((id) => passCheck(consul.addr, id)));
    await eventually(() => toolNames(gw).includes('hr__search') && toolNames(gw).includes('fin__search'), 5000, 'both backends');
    assert.ok(!toolNames(gw).some((n) => n.startsWith('web__')));
    const c = await connectClient(gw.mcpUrl);
    assert.equal(JSON.parse(textOf(await c.client.callTool({ name: 'hr__search', arguments: {} }))).instance, 'hr-a');
    assert.equal(JSON.parse(textOf(await c.client.callTool({ name: 'fin__search', arguments: {} }))).instance, 'fin-a');
    await c.close();
    await deregisterInstance(consul.addr, 'hr-a');
    await deregisterInstance(consul.addr, 'fin-a');
    await deregisterInstance(consul.addr, 'web-a');
  });

  it('spreads calls over three replicas and stops routing to a killed one once Consul marks it critical', async () => {
    const replicas = await Promise.all([1, 2, 3].map((n) => startBackend({ name: `echo-${n}`, tools: [{ name: 'echo' }] })));
    backends.push(...replicas);
    for (const [n, replica] of replicas.entries()) {
      await registerInstance(consul.addr, {
        name: 'echo', id: `echo-${n + 1}`, port: replica.port,
        check: { CheckID: `service:echo-${n + 1}`, TCP: `127.0.0.1:${replica.port}`, Interval: '1s', Timeout: '500ms' },
      });
    }
    await eventually(async () => Object.values(await checkStatuses(consul.addr, 'echo')).filter((s) => s === 'passing').length === 3, 10_000, 'three passing');
    await eventually(() => gw.gateway.pool.describe().find((b) => b.prefix === 'echo')?.instances.filter((i) => i.connected).length === 3, 5000, 'three connected');

    const c = await connectClient(gw.mcpUrl);
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add(JSON.parse(textOf(await c.client.callTool({ name: 'echo__echo', arguments: {} }))).instance);
    assert.equal(seen.size, 3, 'calls spread over the replicas');

    let markedAt = 0;
    let stop = false;
    const failures: { at: number; text: string }[] = [];
    let calls = 0;
    const load = Promise.all([1, 2, 3, 4].map(async () => {
      while (!stop) {
        const at = Date.now();
        calls += 1;
        try {
          const r = await c.client.callTool({ name: 'echo__echo', arguments: {} });
          if (r.isError) failures.push({ at, text: textOf(r) });
        } catch (error) {
          failures.push({ at, text: (error as Error).message });
        }
      }
    }));
    await new Promise((r) => setTimeout(r, 300));
    await replicas[1]!.kill();
    await eventually(async () => (await checkStatuses(consul.addr, 'echo'))['echo-2'] === 'critical', 10_000, 'consul marks echo-2 critical');
    markedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    const late = failures.filter((f) => f.at > markedAt + 1000);
    assert.deepEqual(late, [], 'no failed call once Consul marked the instance critical');
    assert.ok(calls > 50, `load kept running (${calls} calls, ${failures.length} failed before Consul noticed)`);
    const echo = gw.gateway.pool.describe().find((b) => b.prefix === 'echo');
    assert.equal(echo?.instances.find((i) => i.id === 'echo-2')?.healthy, false);
    await c.close();
    for (const n of [1, 2, 3]) await deregisterInstance(consul.addr, `echo-${n}`);
  });

  it('keeps serving while Consul is down, then resyncs with a fresh, empty Consul', async () => {
    const hr = await startBackend({ name: 'hr-b', tools: [{ name: 'search_policy' }] });
    backends.push(hr);
    await registerInstance(consul.addr, { name: 'hr', id: 'hr-b', port: hr.port });
    await passCheck(consul.addr, 'hr-b');
    await eventually(() => toolNames(gw).includes('hr__search_policy'), 5000, 'hr tools');
    const c = await connectClient(gw.mcpUrl);

    await consul.stop();
    const during = await c.client.callTool({ name: 'hr__search_policy', arguments: {} });
    assert.notEqual(during.isError, true, 'last known backends keep serving while Consul is down');
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(toolNames(gw).includes('hr__search_policy'));

    await consul.restart();
    const answeredAt = Date.now();
    const fin = await startBackend({ name: 'fin-b', tools: [{ name: 'generate_report' }] });
    backends.push(fin);
    await registerInstance(consul.addr, { name: 'finance', id: 'fin-b', port: fin.port, meta: { mcp_prefix: 'fin' } });
    await passCheck(consul.addr, 'fin-b');
    await eventually(() => toolNames(gw).includes('fin__generate_report'), 5000, 'new backend after the restart');
    assert.ok(Date.now() - answeredAt < 5000);
    // The fresh Consul does not know hr-b: its tools leave (the catalog is the truth).
    assert.ok(!toolNames(gw).includes('hr__search_policy'));
    const r = JSON.parse(textOf(await c.client.callTool({ name: 'fin__generate_report', arguments: {} })));
    assert.equal(r.instance, 'fin-b');
    // The gateway registers itself again in the new Consul.
    await eventually(async () => {
      const res = await fetch(`${consul.addr}/v1/catalog/service/mcp-gateway`);
      return ((await res.json()) as unknown[]).length === 1;
    }, 5000, 'gateway re-registered');
    await c.close();
  });
});
