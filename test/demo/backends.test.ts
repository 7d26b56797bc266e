// The demo fleet as an MCP client sees it: each team's tools (with the colliding `search`),
// real answers from the seed tutorial's data, sessions that end on DELETE.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { startDemoBackend, type DemoBackend, type TeamKind } from '../../src/demo/backends.js';
import { waitFor } from '../fixtures/wait.js';

const backends = new Map<TeamKind, DemoBackend>();
const clients: Client[] = [];

async function connect(kind: TeamKind): Promise<Client> {
  const backend = backends.get(kind);
  assert.ok(backend);
  const client = new Client({ name: 'demo-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(backend.url)));
  clients.push(client);
  return client;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = z.array(z.object({ type: z.string(), text: z.string().optional() })).parse(result.content);
  return content.map((part) => part.text ?? '').join('\n');
}

/** The structured content, which the client's result type leaves untyped. */
function data(result: Awaited<ReturnType<Client['callTool']>>): Record<string, unknown> {
  return z.record(z.string(), z.unknown()).parse(result.structuredContent);
}

before(async () => {
  for (const kind of ['ops', 'hr', 'finance'] as const) backends.set(kind, await startDemoBackend(kind));
});

after(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await Promise.all([...backends.values()].map((backend) => backend.close()));
});

describe('demo backends', () => {
  test('each team lists its tools, and all three have a `search`', async () => {
    const expected: Record<TeamKind, string[]> = {
      ops: ['create_ticket', 'lookup_inventory', 'search'],
      hr: ['approve_leave', 'search', 'search_policy'],
      finance: ['calculate_budget', 'generate_report', 'search'],
    };
    for (const [kind, names] of Object.entries(expected) as [TeamKind, string[]][]) {
      const client = await connect(kind);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), names, kind);
      for (const tool of tools) assert.ok(tool.description, `${kind}/${tool.name} has a description`);
    }
  });

  test('ops: lookup_inventory(노트북) returns the stock; unknown items are tool errors', async () => {
    const ops = await connect('ops');
    const result = await ops.callTool({ name: 'lookup_inventory', arguments: { item_name: '노트북' } });
    assert.equal(result.isError, undefined);
    assert.equal(data(result).stock, 42);
    assert.equal(data(result).status, 'in_stock');
    assert.match(text(result), /노트북.*재고 42대/);
    const english = await ops.callTool({ name: 'lookup_inventory', arguments: { item_name: 'Docking Station' } });
    assert.equal(data(english).item, '도킹 스테이션');
    assert.equal(data(english).status, 'low_stock');
    const missing = await ops.callTool({ name: 'lookup_inventory', arguments: { item_name: '냉장고' } });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /냉장고/);
  });

  test('ops: create_ticket numbers tickets, and search finds them', async () => {
    const ops = await connect('ops');
    const first = await ops.callTool({ name: 'create_ticket', arguments: { title: '모니터 2대 추가 요청', priority: 'high' } });
    const second = await ops.callTool({ name: 'create_ticket', arguments: { title: '키보드 교체' } });
    assert.equal(data(first).id, 'OPS-1003');
    assert.equal(data(second).id, 'OPS-1004');
    assert.equal(data(second).priority, 'medium');
    const found = await ops.callTool({ name: 'search', arguments: { query: '모니터' } });
    assert.match(text(found), /\[재고\] 모니터/);
    assert.match(text(found), /OPS-1003/);
  });

  test('hr: search_policy finds the equipment policy; approve_leave draws on the balance', async () => {
    const hr = await connect('hr');
    const policies = await hr.callTool({ name: 'search_policy', arguments: { query: '노트북 관련 정책' } });
    const first = z.object({ policies: z.array(z.object({ id: z.string() })) }).parse(policies.structuredContent).policies[0];
    assert.equal(first?.id, 'HR-POL-003');
    const approved = await hr.callTool({ name: 'approve_leave', arguments: { employee_id: 'E1001', days: 2 } });
    assert.equal(data(approved).approved, true);
    assert.equal(data(approved).remainingLeave, 10);
    const refused = await hr.callTool({ name: 'approve_leave', arguments: { employee_id: 'E1003', days: 5 } });
    assert.equal(data(refused).approved, false);
    assert.match(text(refused), /반려/);
    const unknown = await hr.callTool({ name: 'approve_leave', arguments: { employee_id: 'E9999', days: 1 } });
    assert.equal(unknown.isError, true);
    const invalid = await hr.callTool({ name: 'approve_leave', arguments: { employee_id: 'E1001', days: 0 } });
    assert.equal(invalid.isError, true, 'zod rejects a zero-day leave');
    const search = await hr.callTool({ name: 'search', arguments: { query: '재택' } });
    assert.match(text(search), /재택근무 정책/);
  });

  test('finance: calculate_budget and generate_report add up', async () => {
    const finance = await connect('finance');
    const budget = await finance.callTool({ name: 'calculate_budget', arguments: { department: '운영팀', months: 6, growth_rate: 10 } });
    assert.equal(data(budget).code, 'ops');
    assert.equal(data(budget).remaining, 390_000_000);
    assert.equal(data(budget).monthlyBurn, 90_000_000);
    assert.equal(data(budget).proposedBudget, 594_000_000);
    const report = await finance.callTool({ name: 'generate_report', arguments: { period: '2025-Q3', department: 'ops' } });
    assert.equal(data(report).count, 3);
    assert.equal(data(report).total, 36_000_000 + 4_200_000 + 9_800_000);
    const month = await finance.callTool({ name: 'generate_report', arguments: { period: '2025-08' } });
    assert.equal(data(month).count, 4);
    const search = await finance.callTool({ name: 'search', arguments: { query: '노트북' } });
    assert.match(text(search), /EX-0701/);
  });

  test('GET /healthz answers 200; DELETE ends the session', async () => {
    const hr = backends.get('hr');
    assert.ok(hr);
    const Health = z.object({ status: z.literal('ok'), team: z.literal('hr'), sessions: z.number() });
    const before = Health.parse(await (await fetch(hr.healthUrl)).json());
    const client = new Client({ name: 'demo-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(hr.url));
    await client.connect(transport);
    assert.equal(Health.parse(await (await fetch(hr.healthUrl)).json()).sessions, before.sessions + 1);
    await transport.terminateSession();
    await client.close();
    await waitFor('the session to end', async () => Health.parse(await (await fetch(hr.healthUrl)).json()).sessions === before.sessions || undefined);
    const stale = await fetch(hr.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(stale.status, 404);
  });
});
