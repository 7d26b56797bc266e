// The demo's incident_full_report over the real ops, hr and finance backends, each reached
// through an SDK client as the gateway would: `ops__x` is tool `x` on the ops backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startDemoBackend, type DemoBackend, type TeamKind } from '../../src/demo/backends.js';
import { DEMO_COMPOSITE } from '../../src/composite/demo.js';
import { CompositeConfigSchema } from '../../src/composite/schema.js';
import { CompositeEngine, type CompositeContext, type StepEvent } from '../../src/composite/engine.js';

const PREFIXES: Record<string, TeamKind> = { ops: 'ops', hr: 'hr', fin: 'finance' };

const backends: DemoBackend[] = [];
const clients = new Map<TeamKind, Client>();

before(async () => {
  for (const kind of ['ops', 'hr', 'finance'] as const) {
    const backend = await startDemoBackend(kind);
    backends.push(backend);
    const client = new Client({ name: 'composite-demo-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(backend.url)));
    clients.set(kind, client);
  }
});

after(async () => {
  await Promise.allSettled([...clients.values()].map((client) => client.close()));
  await Promise.all(backends.map((backend) => backend.close()));
});

/** Routes `<prefix>__<tool>` to the team's client; `down` teams fail like an unreachable backend. */
function context(down: TeamKind[] = []): CompositeContext & { events: StepEvent[] } {
  const events: StepEvent[] = [];
  return {
    events,
    async callTool(tool, args, { signal }) {
      const [prefix = '', name = ''] = tool.split('__');
      const kind = PREFIXES[prefix];
      const client = kind === undefined ? undefined : clients.get(kind);
      if (!kind || !client) throw new Error(`Unknown tool: ${tool}`);
      if (down.includes(kind)) throw new Error(`backend ${prefix} is unreachable`);
      return (await client.callTool({ name, arguments: args }, undefined, { signal })) as CallToolResult;
    },
    onStep(event) {
      events.push(event);
    },
  };
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

describe('demo composite: incident_full_report', () => {
  const engine = new CompositeEngine(CompositeConfigSchema.parse(DEMO_COMPOSITE));

  test('is exposed under flow with its config schema', () => {
    assert.equal(engine.prefix, 'flow');
    const [tool] = engine.listTools(() => true);
    assert.equal(tool?.name, 'incident_full_report');
    assert.deepEqual(tool?.inputSchema.required, ['item_name']);
    assert.deepEqual(engine.requiredTools('incident_full_report'), ['ops__lookup_inventory', 'hr__search_policy', 'fin__calculate_budget']);
  });

  test('노트북: stock from ops, the equipment policy from hr, the 운영팀 budget from finance', async () => {
    const ctx = context();
    const result = await engine.call('incident_full_report', { item_name: '노트북' }, ctx);
    const report = textOf(result);
    assert.equal(result.isError, undefined, report);
    assert.match(report, /=== 인시던트 보고서 \/ Incident report: 노트북 ===/);
    assert.match(report, /노트북 \(IT-LT-14\): 재고 42대/);
    assert.match(report, /재고 \/ In stock: 42대/);
    assert.match(report, /\[HR-POL-003\] 업무 장비 지급 및 반납 정책/);
    assert.match(report, /운영팀 2025 예산/);
    assert.match(report, /향후 3개월 권장 예산/);
    assert.match(report, /재고 충분/);
    assert.match(report, /잔액 390,000,000원/);
    assert.deepEqual(ctx.events.map((event) => `${event.stepId}:${event.status}`).sort(), ['budget:ok', 'inventory:ok', 'policy:ok']);
  });

  test('a low-stock item gets the reorder advice', async () => {
    const result = await engine.call('incident_full_report', { item_name: 'docking station' }, context());
    assert.match(textOf(result), /도킹 스테이션 \(IT-DK-03\): 재고 6대/);
    assert.match(textOf(result), /재주문 기준 미만/);
  });

  test('with hr down, the report still comes, saying the policy lookup failed', async () => {
    const result = await engine.call('incident_full_report', { item_name: '노트북' }, context(['hr']));
    assert.equal(result.isError, undefined);
    assert.match(textOf(result), /정책 조회 실패 \/ policy lookup failed: backend hr is unreachable/);
    assert.match(textOf(result), /재고 42대/);
  });

  test('an unknown item fails the tool at the inventory step; the budget is not asked', async () => {
    const ctx = context();
    const result = await engine.call('incident_full_report', { item_name: '냉장고' }, ctx);
    assert.equal(result.isError, true);
    assert.match(textOf(result), /step "inventory" \(ops__lookup_inventory\) failed: '냉장고' 품목을 찾을 수 없습니다/);
    assert.equal(ctx.events.find((event) => event.stepId === 'budget')?.status, 'skipped');
  });
});
