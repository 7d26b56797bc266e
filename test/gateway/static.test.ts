// The gateway end to end over real HTTP with static backends: prefixed listing, routing,
// collisions kept apart, list_changed when a backend changes its tools, errors per CONTRACT §5.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

describe('gateway with static backends', () => {
  let ops: TestBackend;
  let hr: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    ops = await startBackend({ name: 'ops-1', tools: [{ name: 'lookup_inventory' }, { name: 'search' }] });
    hr = await startBackend({ name: 'hr-1', jsonResponse: true, tools: [{ name: 'search_policy' }, { name: 'search' }] });
    gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }, { prefix: 'hr', url: hr.url }] } });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 4, 5000, 'four tools');
  });

  after(async () => {
    await gw.close();
    await ops.close();
    await hr.close();
  });

  it('lists every backend tool under its prefix, same-named tools apart', async () => {
    const c = await connectClient(gw.mcpUrl);
    const { tools } = await c.client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['hr__search', 'hr__search_policy', 'ops__lookup_inventory', 'ops__search']);
    const meta = tools.find((t) => t.name === 'ops__search')?._meta as Record<string, { backend: string; name: string }>;
    assert.deepEqual(Object.values(meta)[0], { backend: 'ops', name: 'search' });
    await c.close();
  });

  it('routes calls to the right backend with the original name and arguments', async () => {
    const c = await connectClient(gw.mcpUrl);
    const before = { ops: ops.calls, hr: hr.calls };
    const a = JSON.parse(textOf(await c.client.callTool({ name: 'ops__search', arguments: { q: '노트북' } })));
    const b = JSON.parse(textOf(await c.client.callTool({ name: 'hr__search', arguments: { q: 'leave' } })));
    assert.deepEqual(a, { tool: 'search', args: { q: '노트북' }, instance: 'ops-1' });
    assert.deepEqual(b, { tool: 'search', args: { q: 'leave' }, instance: 'hr-1' });
    assert.equal(ops.calls, before.ops + 1);
    assert.equal(hr.calls, before.hr + 1);
    await c.close();
  });

  it('answers an unknown tool with a JSON-RPC error and keeps serving', async () => {
    const c = await connectClient(gw.mcpUrl);
    await assert.rejects(c.client.callTool({ name: 'ops__nope', arguments: {} }), /Unknown tool: ops__nope/);
    const ok = await c.client.callTool({ name: 'ops__lookup_inventory', arguments: {} });
    assert.match(textOf(ok), /lookup_inventory/);
    await c.close();
  });

  it('sends tools/list_changed to open sessions when a backend changes its tools', async () => {
    const c = await connectClient(gw.mcpUrl);
    await c.client.listTools();
    const changed = c.nextChange();
    ops.setTools([{ name: 'lookup_inventory' }, { name: 'search' }, { name: 'create_ticket' }]);
    await changed;
    const { tools } = await c.client.listTools();
    assert.ok(tools.some((t) => t.name === 'ops__create_ticket'));
    const result = await c.client.callTool({ name: 'ops__create_ticket', arguments: { title: 'x' } });
    assert.match(textOf(result), /create_ticket/);
    await c.close();
  });

  it('writes one JSON log line per request with the routing fields', async () => {
    const c = await connectClient(gw.mcpUrl);
    await c.client.callTool({ name: 'hr__search_policy', arguments: { secret: 'x' } });
    const line = await eventually(() => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.method === 'tools/call' && l.tool === 'hr__search_policy'), 2000, 'log line');
    assert.equal(line.backend, 'hr');
    assert.equal(line.status, 'ok');
    assert.equal(line.principal, 'anonymous');
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(typeof line.reqId, 'string');
    assert.equal(typeof line.sessionId, 'string');
    assert.equal(typeof line.instance, 'string');
    assert.ok(!gw.logs.some((l) => l.includes('"secret"')), 'arguments are not logged by default');
    await c.close();
  });

  it('reports a dead backend in the call result, naming it, while others keep working', async () => {
    const dead = await startBackend({ name: 'fin-1', tools: [{ name: 'calculate_budget' }] });
    const gw2 = await startGateway({ discovery: { static: [{ prefix: 'fin', url: dead.url }, { prefix: 'hr', url: hr.url }] } });
    try {
      await eventually(() => gw2.gateway.catalog.catalog.tools.length === 3, 5000, 'tools');
      const c = await connectClient(gw2.mcpUrl);
      await dead.kill();
      const result = await c.client.callTool({ name: 'fin__calculate_budget', arguments: {} });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /backend "fin"/);
      const ok = await c.client.callTool({ name: 'hr__search', arguments: {} });
      assert.notEqual(ok.isError, true);
      await c.close();
    } finally {
      await gw2.close();
    }
  });
});
