// Composite tools through the gateway: the demo incident report over the three demo
// backends, an optional step failing, a step timing out, scopes, rate limits per step, step
// log lines, and the tool hidden while a step's backend is gone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineCompositeTool } from '../../src/index.js';
import { DEMO_COMPOSITE } from '../../src/composite/demo.js';
import { startDemoBackend } from '../../src/demo/backends.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

const ALL = 'all-tools-key-0123456789';

// The README's TypeScript example, as written there.
const RESTOCK = defineCompositeTool({
  name: 'restock_if_low',
  description: 'Open a ticket when an item runs low',
  inputSchema: z.object({ item_name: z.string() }),
  requires: ['ops__lookup_inventory', 'ops__create_ticket'],
  run: async ({ item_name }, { call }) => {
    const stock = await call('ops__lookup_inventory', { item_name });
    const { status } = stock.structuredContent as { status: string };
    if (status === 'in_stock') return { content: [{ type: 'text', text: `${item_name}: enough stock` }] };
    return call('ops__create_ticket', { title: `Restock ${item_name}`, priority: 'high' });
  },
});
const OPS_ONLY = 'ops-flow-key-0123456789';

describe('composite tools through the gateway', () => {
  let ops: Awaited<ReturnType<typeof startDemoBackend>>;
  let hr: Awaited<ReturnType<typeof startDemoBackend>>;
  let fin: Awaited<ReturnType<typeof startDemoBackend>>;
  let slow: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    [ops, hr, fin] = await Promise.all([startDemoBackend('ops', { port: 0 }), startDemoBackend('hr', { port: 0 }), startDemoBackend('finance', { port: 0 })]);
    slow = await startBackend({ tools: [{ name: 'wait', handler: async () => { await new Promise((r) => setTimeout(r, 2000)); return { content: [{ type: 'text', text: 'late' }] }; } }, { name: 'quick' }] });
    gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }, { prefix: 'hr', url: hr.url }, { prefix: 'fin', url: fin.url }, { prefix: 'slow', url: slow.url }] },
      composite: {
        ...DEMO_COMPOSITE,
        tools: [
          ...DEMO_COMPOSITE.tools,
          {
            name: 'slow_pair',
            description: 'A quick step and a step that takes too long',
            inputSchema: { type: 'object', properties: {} },
            steps: [
              { id: 'quick', tool: 'slow__quick', arguments: {} },
              { id: 'late', tool: 'slow__wait', arguments: {}, timeoutSeconds: 0.3 },
            ],
          },
        ],
      },
      auth: { apiKeys: [{ id: 'all', key: ALL }, { id: 'ops-flow', key: OPS_ONLY, tools: ['ops__*', 'flow__*'] }] },
      rateLimit: { tools: [{ match: 'ops__lookup_inventory', points: 4, duration: 60 }] },
    }, {}, { compositeTools: [RESTOCK] });
    await eventually(() => gw.gateway.catalog.catalog.routes.has('flow__incident_full_report'), 10_000, 'composite listed');
  });

  after(async () => {
    await gw.close();
    await Promise.all([ops.close(), hr.close(), fin.close(), slow.close()]);
  });

  const as = (key: string) => connectClient(gw.mcpUrl, { authorization: `Bearer ${key}` });

  it('builds the incident report from ops, hr and finance, logging one line per step', async () => {
    const c = await as(ALL);
    const tool = (await c.client.listTools()).tools.find((t) => t.name === 'flow__incident_full_report');
    assert.ok(tool, 'listed');
    assert.deepEqual(tool.inputSchema.required, ['item_name']);
    const result = await c.client.callTool({ name: 'flow__incident_full_report', arguments: { item_name: '노트북' } });
    assert.notEqual(result.isError, true, textOf(result));
    const report = textOf(result);
    assert.match(report, /노트북 \(IT-LT-14\): 재고 42대/);
    assert.match(report, /HR-POL-003/);
    assert.match(report, /운영팀 2025 예산/);
    const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const parent = lines.findLast((l) => l.msg === 'mcp request' && l.tool === 'flow__incident_full_report');
    assert.ok(parent, 'the parent request is logged');
    const steps = lines.filter((l) => l.msg === 'composite step' && l.reqId === parent.reqId);
    assert.deepEqual(steps.map((s) => s.tool).sort(), ['fin__calculate_budget', 'hr__search_policy', 'ops__lookup_inventory']);
    assert.ok(steps.every((s) => s.status === 'ok' && s.principal === 'all'));
    await c.close();
  });

  it('runs a composite tool written in TypeScript', async () => {
    const c = await as(ALL);
    assert.equal(textOf(await c.client.callTool({ name: 'flow__restock_if_low', arguments: { item_name: '노트북' } })), '노트북: enough stock');
    const ticket = await c.client.callTool({ name: 'flow__restock_if_low', arguments: { item_name: '헤드셋' } });
    assert.notEqual(ticket.isError, true, textOf(ticket));
    assert.match(textOf(ticket), /Restock 헤드셋/);
    await c.close();
  });

  it('rejects invalid input before calling anything', async () => {
    const c = await as(ALL);
    await assert.rejects(c.client.callTool({ name: 'flow__incident_full_report', arguments: {} }), /item_name/);
    await c.close();
  });

  it('reports a timed-out step and fails the tool', async () => {
    const c = await as(ALL);
    const result = await c.client.callTool({ name: 'flow__slow_pair', arguments: {} });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /late.*slow__wait/s);
    assert.equal((result.structuredContent as { steps: Record<string, { status: string }> }).steps.late?.status, 'timeout');
    await c.close();
  });

  it('hides a composite tool from a caller who lacks one of its steps, and refuses the call', async () => {
    const c = await as(OPS_ONLY);
    const names = (await c.client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('ops__lookup_inventory'));
    assert.ok(!names.includes('flow__incident_full_report'));
    await assert.rejects(c.client.callTool({ name: 'flow__incident_full_report', arguments: { item_name: '노트북' } }), /Unknown tool/);
    await c.close();
  });

  it('still reports when an optional step fails', async () => {
    const c = await as(ALL);
    await hr.close();
    const partial = await c.client.callTool({ name: 'flow__incident_full_report', arguments: { item_name: '모니터' } });
    assert.notEqual(partial.isError, true, textOf(partial));
    assert.match(textOf(partial), /policy lookup failed/);
    assert.match(textOf(partial), /모니터/);
    await c.close();
  });

  it('counts each step against the rate limits', async () => {
    const c = await as(ALL);
    // Earlier tests called ops__lookup_inventory four times: its 3 points per minute are spent.
    const result = await c.client.callTool({ name: 'flow__incident_full_report', arguments: { item_name: '노트북' } });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Rate limit exceeded \(tool:ops__lookup_inventory\)/);
    await c.close();
  });

  it('hides the tool while a backend of a required step is gone, telling sessions', async () => {
    const c = await as(ALL);
    await c.client.listTools();
    const changed = c.nextChange(8000);
    await fin.close();
    await changed;
    assert.ok(!(await c.client.listTools()).tools.some((t) => t.name === 'flow__incident_full_report'));
    await c.close();
  });
});
