// The composite engine against a fake callTool that records every call and the order in
// which calls start and end: binding, concurrency, optional and required failures, timeouts,
// input checks, load-time errors, availability and code-defined tools.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CompositeConfigSchema, type CompositeConfigInput } from '../../src/composite/schema.js';
import { CompositeEngine, type CompositeContext, type StepEvent } from '../../src/composite/engine.js';
import { defineCompositeTool } from '../../src/composite/code.js';

type Behaviour = (args: Record<string, unknown>, signal: AbortSignal) => Promise<CallToolResult>;

interface Recorded {
  tool: string;
  stepId: string;
  args: Record<string, unknown>;
  signal: AbortSignal;
}

/** A callTool over per-tool behaviours, logging `start <step>` / `end <step>` in order. */
function fake(behaviours: Record<string, Behaviour>): CompositeContext & { calls: Recorded[]; order: string[]; events: StepEvent[] } {
  const calls: Recorded[] = [];
  const order: string[] = [];
  const events: StepEvent[] = [];
  return {
    calls,
    order,
    events,
    async callTool(tool, args, { stepId, signal }) {
      calls.push({ tool, stepId, args, signal });
      order.push(`start ${stepId}`);
      try {
        const behaviour = behaviours[tool];
        if (!behaviour) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${tool}`);
        return await behaviour(args, signal);
      } finally {
        order.push(`end ${stepId}`);
      }
    },
    onStep(event) {
      events.push(event);
    },
  };
}

function reply(text: string, structured?: Record<string, unknown>, delayMs = 20): Behaviour {
  return async () => {
    await sleep(delayMs);
    return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
  };
}

function refuse(text: string, delayMs = 5): Behaviour {
  return async () => {
    await sleep(delayMs);
    return { isError: true, content: [{ type: 'text', text }] };
  };
}

/** Resolves only when its signal aborts (and then rejects, as a well-behaved callee does). */
const hang: Behaviour = (_args, signal) =>
  new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

/** Never settles, ignoring its signal. */
const deaf: Behaviour = () => new Promise(() => undefined);

function isInvalidParams(error: unknown): true {
  assert.ok(error instanceof McpError, String(error));
  assert.equal(error.code, ErrorCode.InvalidParams);
  return true;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function statuses(result: CallToolResult): Record<string, string> {
  const steps = (result.structuredContent as { steps: Record<string, { status: string }> }).steps;
  return Object.fromEntries(Object.entries(steps).map(([id, step]) => [id, step.status]));
}

const INCIDENT: CompositeConfigInput = {
  prefix: 'flow',
  tools: [
    {
      name: 'incident',
      description: 'incident report',
      inputSchema: { type: 'object', properties: { item_name: { type: 'string', minLength: 1 } }, required: ['item_name'] },
      steps: [
        { id: 'inventory', tool: 'ops__lookup_inventory', arguments: { item_name: '=input.item_name' } },
        { id: 'policy', tool: 'hr__search_policy', arguments: { query: "=input.item_name & ' 정책'", limit: 3 }, optional: true },
        {
          id: 'cost',
          tool: 'fin__calculate_budget',
          arguments: {
            department: "=steps.inventory.structured.department ? steps.inventory.structured.department : '운영팀'",
            options: { months: '=steps.inventory.structured.stock', tags: ['incident', '=input.item_name'], note: '==literal' },
          },
        },
      ],
      output: [
        'Report: {{input.item_name}}',
        'Stock: {{steps.inventory.structured.stock}}',
        '{{#if steps.policy.isError}}Policy: unavailable ({{steps.policy.status}}: {{steps.policy.error}}){{else}}Policy: {{steps.policy.text}}{{/if}}',
        'Cost: {{steps.cost.text}}',
      ].join('\n'),
    },
  ],
};

function engineFor(config: CompositeConfigInput = INCIDENT): CompositeEngine {
  return new CompositeEngine(CompositeConfigSchema.parse(config));
}

/** INCIDENT with one step changed. */
function withStep(id: string, change: Record<string, unknown>): CompositeConfigInput {
  const tool = structuredClone(INCIDENT.tools?.[0]);
  assert.ok(tool);
  tool.steps = tool.steps.map((step) => (step.id === id ? { ...step, ...change } : step));
  return { ...INCIDENT, tools: [tool] };
}

describe('composite engine: running', () => {
  test('all steps succeed: arguments bound, output rendered, independent steps overlap', async () => {
    const ctx = fake({
      ops__lookup_inventory: reply('노트북: 42대', { item: '노트북', stock: 42, department: '총무팀' }),
      hr__search_policy: reply('[HR-POL-003] 장비 정책'),
      fin__calculate_budget: reply('총무팀 예산 OK', undefined, 1),
    });
    const result = await engineFor().call('incident', { item_name: '노트북' }, ctx);

    assert.equal(result.isError, undefined);
    assert.equal(textOf(result), 'Report: 노트북\nStock: 42\nPolicy: [HR-POL-003] 장비 정책\nCost: 총무팀 예산 OK');
    assert.deepEqual(statuses(result), { inventory: 'ok', policy: 'ok', cost: 'ok' });

    const args = Object.fromEntries(ctx.calls.map((call) => [call.stepId, call.args]));
    assert.deepEqual(args.inventory, { item_name: '노트북' });
    assert.deepEqual(args.policy, { query: '노트북 정책', limit: 3 });
    assert.deepEqual(args.cost, { department: '총무팀', options: { months: 42, tags: ['incident', '노트북'], note: '=literal' } });
    assert.deepEqual(ctx.calls.map((call) => call.tool).sort(), ['fin__calculate_budget', 'hr__search_policy', 'ops__lookup_inventory']);

    // inventory and policy need nothing: both start before either ends. cost reads inventory.
    const at = (entry: string): number => ctx.order.indexOf(entry);
    assert.ok(at('start policy') < at('end inventory') && at('start inventory') < at('end policy'), ctx.order.join(', '));
    assert.ok(at('end inventory') < at('start cost'), ctx.order.join(', '));

    assert.deepEqual(ctx.events.map((event) => `${event.stepId}:${event.tool}:${event.status}`).sort(), [
      'cost:fin__calculate_budget:ok',
      'inventory:ops__lookup_inventory:ok',
      'policy:hr__search_policy:ok',
    ]);
    for (const event of ctx.events) assert.ok(event.durationMs >= 0 && event.error === undefined);
  });

  test('an expression without a result leaves its argument out', async () => {
    const ctx = fake({
      ops__lookup_inventory: reply('노트북', { item: '노트북' }),
      hr__search_policy: reply('policy'),
      fin__calculate_budget: reply('cost'),
    });
    await engineFor().call('incident', { item_name: '노트북' }, ctx);
    const cost = ctx.calls.find((call) => call.stepId === 'cost');
    assert.deepEqual(cost?.args, { department: '운영팀', options: { tags: ['incident', '노트북'], note: '=literal' } });
  });

  test('an optional step failing: the tool succeeds, the output reports it, its dependents still run', async () => {
    const config = structuredClone(INCIDENT);
    const tool = config.tools?.[0];
    assert.ok(tool);
    tool.steps.push({ id: 'followup', tool: 'ops__create_ticket', arguments: { title: 'policy check', lookup_failed: '=steps.policy.isError' } });
    const ctx = fake({
      ops__lookup_inventory: reply('노트북: 42대', { stock: 42 }),
      hr__search_policy: refuse('hr index offline'),
      fin__calculate_budget: reply('budget'),
      ops__create_ticket: reply('OPS-1003'),
    });
    const result = await engineFor(config).call('incident', { item_name: '노트북' }, ctx);

    assert.equal(result.isError, undefined);
    assert.match(textOf(result), /Policy: unavailable \(error: hr index offline\)/);
    assert.deepEqual(statuses(result), { inventory: 'ok', policy: 'error', cost: 'ok', followup: 'ok' });
    assert.equal((result.structuredContent as { steps: Record<string, { error?: string }> }).steps.policy?.error, 'hr index offline');
    assert.equal(ctx.calls.find((call) => call.stepId === 'followup')?.args.lookup_failed, true);
    assert.deepEqual(ctx.events.find((event) => event.stepId === 'policy'), {
      stepId: 'policy', tool: 'hr__search_policy', status: 'error', durationMs: ctx.events.find((e) => e.stepId === 'policy')?.durationMs, error: 'hr index offline',
    });
  });

  test('an optional step that throws is reported the same way', async () => {
    const ctx = fake({ ops__lookup_inventory: reply('ok', { stock: 1 }), fin__calculate_budget: reply('budget') });
    const result = await engineFor().call('incident', { item_name: '노트북' }, ctx);
    assert.equal(result.isError, undefined);
    assert.match(textOf(result), /Policy: unavailable \(error: MCP error -32602: Unknown tool: hr__search_policy\)/);
  });

  test('a required step failing fails the tool, and the steps after it are skipped', async () => {
    const ctx = fake({
      ops__lookup_inventory: refuse("'냉장고' 품목을 찾을 수 없습니다."),
      hr__search_policy: reply('policy', undefined, 1),
      fin__calculate_budget: reply('budget'),
    });
    const result = await engineFor().call('incident', { item_name: '냉장고' }, ctx);

    assert.equal(result.isError, true);
    assert.match(textOf(result), /step "inventory" \(ops__lookup_inventory\) failed: '냉장고' 품목을 찾을 수 없습니다\./);
    assert.match(textOf(result), /Not run: cost/);
    assert.equal(statuses(result).cost, 'skipped');
    assert.ok(!ctx.calls.some((call) => call.tool === 'fin__calculate_budget'), 'cost never called');
    const skipped = ctx.events.find((event) => event.stepId === 'cost');
    assert.equal(skipped?.status, 'skipped');
    assert.match(skipped?.error ?? '', /step "inventory" failed/);
  });

  test('a required step that throws fails the tool; steps still in flight are cancelled', async () => {
    const ctx = fake({
      ops__lookup_inventory: reply('ok', { stock: 1 }, 1),
      hr__search_policy: hang,
      fin__calculate_budget: async () => {
        throw new Error('connection refused');
      },
    });
    const result = await engineFor().call('incident', { item_name: '노트북' }, ctx);
    assert.equal(result.isError, true);
    assert.match(textOf(result), /step "cost" \(fin__calculate_budget\) failed: connection refused/);
    const policy = ctx.calls.find((call) => call.stepId === 'policy');
    assert.equal(policy?.signal.aborted, true, 'the in-flight optional step was aborted');
    assert.equal(statuses(result).policy, 'error');
  });

  test('a step timing out: its signal is aborted and it is reported as a timeout', async () => {
    // Optional: the tool still answers, and says so.
    const ctx = fake({ ops__lookup_inventory: reply('ok', { stock: 1 }), hr__search_policy: hang, fin__calculate_budget: reply('budget') });
    const result = await engineFor(withStep('policy', { timeoutSeconds: 0.05 })).call('incident', { item_name: '노트북' }, ctx);
    assert.equal(result.isError, undefined);
    assert.match(textOf(result), /Policy: unavailable \(timeout: timed out after 0\.05 s\)/);
    assert.equal(ctx.calls.find((call) => call.stepId === 'policy')?.signal.aborted, true);
    assert.equal(ctx.events.find((event) => event.stepId === 'policy')?.status, 'timeout');

    // Required, and the callee ignores its signal: the step still ends at its deadline.
    const deafCtx = fake({ ops__lookup_inventory: deaf, hr__search_policy: reply('policy'), fin__calculate_budget: reply('budget') });
    const failed = await engineFor(withStep('inventory', { timeoutSeconds: 0.05 })).call('incident', { item_name: '노트북' }, deafCtx);
    assert.equal(failed.isError, true);
    assert.match(textOf(failed), /step "inventory" \(ops__lookup_inventory\) timed out: timed out after 0\.05 s/);
    assert.deepEqual(statuses(failed), { inventory: 'timeout', policy: 'ok', cost: 'skipped' });
  });

  test('the tool-level timeoutSeconds is the default for its steps', async () => {
    const config = structuredClone(INCIDENT);
    const tool = config.tools?.[0];
    assert.ok(tool);
    tool.timeoutSeconds = 0.05;
    const ctx = fake({ ops__lookup_inventory: hang, hr__search_policy: reply('policy'), fin__calculate_budget: reply('budget') });
    const result = await engineFor(config).call('incident', { item_name: '노트북' }, ctx);
    assert.equal(statuses(result).inventory, 'timeout');
  });

  test('`when` skips a step whose condition is false', async () => {
    const ctx = fake({ ops__lookup_inventory: reply('ok', { stock: 42 }), hr__search_policy: reply('policy'), fin__calculate_budget: reply('budget') });
    const result = await engineFor(withStep('cost', { when: 'steps.inventory.structured.stock < 10' })).call('incident', { item_name: '노트북' }, ctx);
    assert.equal(result.isError, undefined);
    assert.equal(statuses(result).cost, 'skipped');
    assert.ok(!ctx.calls.some((call) => call.stepId === 'cost'));
  });

  test('the caller cancelling aborts the steps in flight and rejects', async () => {
    const ctx = fake({ ops__lookup_inventory: hang, hr__search_policy: hang, fin__calculate_budget: reply('budget') });
    const controller = new AbortController();
    const running = engineFor().call('incident', { item_name: '노트북' }, { ...ctx, signal: controller.signal });
    await sleep(10);
    controller.abort(new Error('client went away'));
    await assert.rejects(running, /client went away/);
    assert.ok(ctx.calls.every((call) => call.signal.aborted));
    assert.ok(!ctx.calls.some((call) => call.stepId === 'cost'));
  });

  test('invalid input is an McpError InvalidParams, before any call', async () => {
    const ctx = fake({});
    for (const args of [{}, { item_name: 42 }, { item_name: '' }, 'text']) {
      await assert.rejects(engineFor().call('incident', args, ctx), (error: unknown) => {
        assert.ok(error instanceof McpError);
        assert.equal(error.code, ErrorCode.InvalidParams);
        assert.match(error.message, /incident/);
        return true;
      });
    }
    assert.equal(ctx.calls.length, 0);
    await assert.rejects(engineFor().call('nope', {}, ctx), isInvalidParams);
  });

  test('schema defaults fill the input', async () => {
    const ctx = fake({ x__echo: reply('echo') });
    const engine = engineFor({
      tools: [{
        name: 'defaults',
        description: 'd',
        inputSchema: { type: 'object', properties: { months: { type: 'integer', default: 12 } } },
        steps: [{ id: 'echo', tool: 'x__echo', arguments: { months: '=input.months' } }],
      }],
    });
    const result = await engine.call('defaults', undefined, ctx);
    assert.deepEqual(ctx.calls[0]?.args, { months: 12 });
    assert.equal(textOf(result), '[echo] echo\n', 'the default output lists each step');
  });
});

describe('composite engine: load-time errors name their path', () => {
  function issues(config: unknown): string[] {
    const parsed = z.object({ composite: CompositeConfigSchema }).safeParse({ composite: config });
    assert.equal(parsed.success, false, 'expected the config to be rejected');
    return parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
  }

  function tool(steps: unknown[], extra: Record<string, unknown> = {}): unknown {
    return { tools: [{ name: 't', description: 'd', steps, ...extra }] };
  }

  test('a cycle, reported with the steps along it', () => {
    const found = issues(tool([
      { id: 'a', tool: 'x__a', arguments: { v: '=steps.c.text' } },
      { id: 'b', tool: 'x__b', needs: ['a'] },
      { id: 'c', tool: 'x__c', needs: ['b'] },
    ]));
    assert.deepEqual(found, ['composite.tools.0.steps: steps depend on each other in a cycle: a → c → b → a']);
    assert.match(issues(tool([{ id: 'a', tool: 'x__a', needs: ['a'] }]))[0] ?? '', /cycle: a → a/);
  });

  test('unknown dependencies, explicit and read', () => {
    assert.deepEqual(issues(tool([
      { id: 'a', tool: 'x__a' },
      { id: 'b', tool: 'x__b', needs: ['a', 'zz'] },
      { id: 'c', tool: 'x__c', arguments: { nested: { deep: ['=steps.nope.text'] } } },
    ])), [
      'composite.tools.0.steps.1.needs.1: needs unknown step "zz"',
      'composite.tools.0.steps.2.arguments.nested.deep.0: reads steps.nope, but the tool has no step "nope"',
    ]);
  });

  test('a bad expression, at its argument', () => {
    const found = issues(tool([
      { id: 'a', tool: 'x__a' },
      { id: 'b', tool: 'x__b' },
      { id: 'c', tool: 'x__c', arguments: { department: '=steps.a.structured.department ? : "x"' } },
    ]));
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^composite\.tools\.0\.steps\.2\.arguments\.department: bad expression/);
    assert.match(issues(tool([{ id: 'a', tool: 'x__a', when: 'input.(' }]))[0] ?? '', /^composite\.tools\.0\.steps\.0\.when: bad expression/);
  });

  test('a dynamic read of `steps` needs explicit needs', () => {
    assert.match(issues(tool([{ id: 'a', tool: 'x__a' }, { id: 'b', tool: 'x__b', arguments: { v: "=$lookup(steps, 'a')" } }]))[0] ?? '',
      /^composite\.tools\.0\.steps\.1\.arguments\.v: reads `steps` without naming a step/);
    const ok = CompositeConfigSchema.safeParse(tool([{ id: 'a', tool: 'x__a' }, { id: 'b', tool: 'x__b', needs: ['a'], arguments: { v: "=$lookup(steps, 'a')" } }]));
    assert.equal(ok.success, true);
  });

  test('duplicate ids and tool names, bad templates, bad input schemas', () => {
    assert.deepEqual(issues(tool([{ id: 'a', tool: 'x__a' }, { id: 'a', tool: 'x__b' }])), ['composite.tools.0.steps.1.id: duplicate step id "a"']);
    const twice = { tools: [{ name: 't', description: 'd', steps: [{ id: 'a', tool: 'x' }] }, { name: 't', description: 'd', steps: [{ id: 'a', tool: 'x' }] }] };
    assert.deepEqual(issues(twice), ['composite.tools.1.name: duplicate tool name "t"']);
    assert.match(issues(tool([{ id: 'a', tool: 'x__a' }], { output: '{{#if steps.a.text}}open' }))[0] ?? '', /^composite\.tools\.0\.output: bad template/);
    assert.deepEqual(issues(tool([{ id: 'a', tool: 'x__a' }], { output: '{{steps.a.text}} {{steps.b.text}} {{#each steps}}{{steps.inner}}{{/each}}' })), [
      'composite.tools.0.output: template reads "steps.b.text", but the tool has no step "b"',
    ]);
    assert.match(issues(tool([{ id: 'a', tool: 'x__a' }], { inputSchema: { type: 'object', properties: { n: { type: 'integr' } } } }))[0] ?? '',
      /^composite\.tools\.0\.inputSchema: not a valid JSON Schema/);
    assert.match(issues(tool([{ id: 'a-b', tool: 'x__a' }]))[0] ?? '', /^composite\.tools\.0\.steps\.0\.id: must be an identifier/);
  });
});

describe('composite engine: listing', () => {
  test('a tool is listed only while every non-optional step tool is available', () => {
    const engine = engineFor();
    assert.equal(engine.prefix, 'flow');
    assert.deepEqual(engine.names(), ['incident']);
    assert.deepEqual(engine.requiredTools('incident'), ['ops__lookup_inventory', 'hr__search_policy', 'fin__calculate_budget']);

    const all = engine.listTools(() => true);
    assert.equal(all.length, 1);
    assert.equal(all[0]?.name, 'incident');
    assert.equal(all[0]?.description, 'incident report');
    assert.deepEqual(all[0]?.inputSchema.required, ['item_name']);

    assert.deepEqual(engine.listTools((name) => name !== 'fin__calculate_budget'), []);
    assert.equal(engine.listTools((name) => name !== 'hr__search_policy').length, 1, 'policy is optional');
  });
});

describe('composite engine: code-defined tools', () => {
  const stockAndPolicy = defineCompositeTool({
    name: 'stock_and_policy',
    title: 'Stock and policy',
    description: 'stock and policy of several items',
    inputSchema: z.object({ items: z.array(z.string().min(1)).min(1), withPolicy: z.boolean().default(true) }),
    requires: ['ops__lookup_inventory', 'hr__search_policy'],
    async run({ items, withPolicy }, { call }) {
      const stock = await Promise.all(items.map((item_name) => call('ops__lookup_inventory', { item_name })));
      const lines = stock.map((result) => textOf(result));
      if (withPolicy) {
        const policy = await call('hr__search_policy', { query: items.join(' ') }, { stepId: 'policy', timeoutSeconds: 5 });
        lines.push(policy.isError ? 'policy: unavailable' : textOf(policy));
      }
      return { content: [{ type: 'text', text: lines.join('\n') }] };
    },
  });

  const sneaky = defineCompositeTool({
    name: 'sneaky',
    description: 'calls a tool it did not declare',
    inputSchema: z.object({}),
    requires: ['ops__lookup_inventory'],
    async run(_input, { call }) {
      return call('fin__calculate_budget', {});
    },
  });

  test('runs beside config tools, with its calls reported as steps', async () => {
    const engine = new CompositeEngine(CompositeConfigSchema.parse(INCIDENT), [stockAndPolicy, sneaky]);
    assert.deepEqual(engine.names(), ['incident', 'stock_and_policy', 'sneaky']);
    assert.deepEqual(engine.requiredTools('stock_and_policy'), ['ops__lookup_inventory', 'hr__search_policy']);
    const listed = engine.listTools(() => true).find((tool) => tool.name === 'stock_and_policy');
    assert.equal(listed?.title, 'Stock and policy');
    assert.deepEqual(listed?.inputSchema.required, ['items']);
    assert.equal(listed?.inputSchema.type, 'object');
    assert.deepEqual(engine.listTools((name) => name !== 'hr__search_policy').map((tool) => tool.name), ['incident', 'sneaky']);

    const ctx = fake({ ops__lookup_inventory: async (args) => reply(`${String(args.item_name)}: in stock`)(args, new AbortController().signal), hr__search_policy: reply('HR-POL-003') });
    const result = await engine.call('stock_and_policy', { items: ['노트북', '모니터'] }, ctx);
    assert.equal(textOf(result), '노트북: in stock\n모니터: in stock\nHR-POL-003');
    assert.deepEqual(ctx.events.map((event) => `${event.stepId}:${event.status}`).sort(), ['ops__lookup_inventory#2:ok', 'ops__lookup_inventory:ok', 'policy:ok']);
    const at = (entry: string): number => ctx.order.indexOf(entry);
    assert.ok(at('start ops__lookup_inventory#2') < at('end ops__lookup_inventory'), 'the two lookups overlap');
  });

  test('checks its input with zod, refuses undeclared tools, and turns throws into isError results', async () => {
    const engine = new CompositeEngine(CompositeConfigSchema.parse({}), [stockAndPolicy, sneaky]);
    const ctx = fake({ ops__lookup_inventory: reply('ok'), hr__search_policy: refuse('down'), fin__calculate_budget: reply('budget') });
    await assert.rejects(engine.call('stock_and_policy', { items: [] }, ctx), isInvalidParams);

    const undeclared = await engine.call('sneaky', {}, ctx);
    assert.equal(undeclared.isError, true);
    assert.match(textOf(undeclared), /calls fin__calculate_budget, which is not in its requires/);
    assert.ok(!ctx.calls.some((call) => call.tool === 'fin__calculate_budget'));

    const degraded = await engine.call('stock_and_policy', { items: ['노트북'] }, ctx);
    assert.equal(textOf(degraded), 'ok\npolicy: unavailable');

    const slow = defineCompositeTool({
      name: 'slow',
      description: 'one call with a short timeout',
      inputSchema: z.object({}),
      requires: ['hr__search_policy'],
      run: async (_input, { call }) => call('hr__search_policy', { query: 'x' }, { timeoutSeconds: 0.05 }),
    });
    const slowCtx = fake({ hr__search_policy: hang });
    const timedOut = await new CompositeEngine(CompositeConfigSchema.parse({}), [slow]).call('slow', {}, slowCtx);
    assert.equal(timedOut.isError, true);
    assert.match(textOf(timedOut), /slow failed: hr__search_policy timed out after 0\.05 s/);
    assert.equal(slowCtx.calls[0]?.signal.aborted, true);
    assert.equal(slowCtx.events[0]?.status, 'timeout');
  });

  test('a name shared by a config tool and a code tool is refused', () => {
    const clash = defineCompositeTool({ name: 'incident', description: 'd', inputSchema: z.object({}), requires: [], run: async () => ({ content: [] }) });
    assert.throws(() => new CompositeEngine(CompositeConfigSchema.parse(INCIDENT), [clash]), /duplicate composite tool "incident"/);
  });
});
