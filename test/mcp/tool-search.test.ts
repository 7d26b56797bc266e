// Tool-search mode for large catalogs: three gateway tools instead of thousands; search by
// words, describe, call by name, with scopes and rate limits applying as to direct calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

const SEARCHER = 'searcher-key-0123456789';
const OPS_ONLY = 'ops-only-key-0123456789';
const PLAIN = 'plain-key-0123456789abc';

describe('tool-search mode', () => {
  let ops: TestBackend;
  let hr: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    const filler = Array.from({ length: 300 }, (_, i) => ({ name: `report_${i}`, description: `Quarterly report number ${i} for finance` }));
    ops = await startBackend({ tools: [
      { name: 'lookup_inventory', description: 'Look up stock of an item (노트북, 모니터) in the warehouse' },
      { name: 'create_ticket', description: 'Open an operations ticket' },
      ...filler,
    ] });
    hr = await startBackend({ tools: [{ name: 'approve_leave', description: 'Approve an employee leave request' }] });
    gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }, { prefix: 'hr', url: hr.url }] },
      toolSearch: { enabled: true },
      auth: { apiKeys: [
        { id: 'searcher', key: SEARCHER },
        { id: 'ops-only', key: OPS_ONLY, tools: ['ops__*'] },
        { id: 'plain', key: PLAIN, toolSearch: false },
      ] },
      rateLimit: { tools: [{ match: 'ops__create_ticket', points: 2, duration: 60 }] },
    });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 303, 5000, 'tools');
  });

  after(async () => {
    await gw.close();
    await ops.close();
    await hr.close();
  });

  const as = (key: string) => connectClient(gw.mcpUrl, { authorization: `Bearer ${key}` });

  it('lists three gateway tools instead of the catalog; a key can opt out', async () => {
    const c = await as(SEARCHER);
    assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name), ['gateway__search_tools', 'gateway__describe_tool', 'gateway__call_tool']);
    await c.close();
    const plain = await as(PLAIN);
    assert.equal((await plain.client.listTools()).tools.length, 303);
    await plain.close();
  });

  it('finds a tool by words, describes it and calls it', async () => {
    const c = await as(SEARCHER);
    const found = await c.client.callTool({ name: 'gateway__search_tools', arguments: { query: 'warehouse stock', limit: 3 } });
    const results = (found.structuredContent as { results: { name: string }[] }).results;
    assert.equal(results[0]?.name, 'ops__lookup_inventory');
    assert.ok(results.length <= 3);
    const leave = await c.client.callTool({ name: 'gateway__search_tools', arguments: { query: 'leave' } });
    assert.equal((leave.structuredContent as { results: { name: string }[] }).results[0]?.name, 'hr__approve_leave');
    const described = await c.client.callTool({ name: 'gateway__describe_tool', arguments: { name: 'ops__lookup_inventory' } });
    assert.equal((described.structuredContent as { tool: { name: string; description: string } }).tool.description, 'Look up stock of an item (노트북, 모니터) in the warehouse');
    const called = await c.client.callTool({ name: 'gateway__call_tool', arguments: { name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } } });
    assert.deepEqual(JSON.parse(textOf(called)).args, { item_name: '노트북' });
    await c.close();
  });

  it('applies scopes: search shows and call_tool reaches only allowed tools', async () => {
    const c = await as(OPS_ONLY);
    const leave = await c.client.callTool({ name: 'gateway__search_tools', arguments: { query: 'approve leave employee' } });
    assert.ok(!(leave.structuredContent as { results: { name: string }[] }).results.some((r) => r.name.startsWith('hr__')));
    await assert.rejects(c.client.callTool({ name: 'gateway__call_tool', arguments: { name: 'hr__approve_leave', arguments: {} } }), /Unknown tool: hr__approve_leave/);
    await assert.rejects(c.client.callTool({ name: 'gateway__describe_tool', arguments: { name: 'hr__approve_leave' } }), /Unknown tool/);
    await c.close();
  });

  it('applies rate limits to the tool called through call_tool', async () => {
    const c = await as(SEARCHER);
    const call = () => c.client.callTool({ name: 'gateway__call_tool', arguments: { name: 'ops__create_ticket', arguments: { title: 't' } } });
    await call();
    await call();
    await assert.rejects(call(), /Rate limit exceeded \(tool:ops__create_ticket\)|429/);
    await c.close();
  });
});
