// Through the gateway a client can do what it could do connected to the backend directly:
// prompts, resources (text, binary, templates, subscriptions), completion, progress,
// cancellation, sampling, elicitation, roots, log messages, and paged lists.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';
import { PNG, startRichBackend, type RichBackend } from '../fixtures/rich-backend.js';

async function client(url: string, capabilities: Record<string, unknown> = {}): Promise<Client> {
  const c = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

describe('complete MCP proxying', () => {
  let rich: RichBackend;
  let gw: RunningGateway;

  before(async () => {
    rich = await startRichBackend();
    gw = await startGateway({ discovery: { static: [{ prefix: 'docs', url: rich.url }] } });
    await eventually(() => gw.gateway.catalog.catalog.prompts.length === 1 && gw.gateway.catalog.catalog.resources.length === 2, 5000, 'lists');
  });

  after(async () => {
    await gw.close();
    await rich.close();
  });

  it('lists and gets a prompt with arguments, embedded resource URIs exposed', async () => {
    const c = await client(gw.mcpUrl);
    const { prompts } = await c.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name), ['docs__summarize']);
    assert.deepEqual(prompts[0]?.arguments?.map((a) => a.name), ['topic', 'tone']);
    const result = await c.getPrompt({ name: 'docs__summarize', arguments: { topic: 'inventory', tone: 'dry' } });
    assert.equal((result.messages[0]?.content as { text: string }).text, 'Summarize inventory in a dry tone.');
    assert.equal((result.messages[1]?.content as { resource: { uri: string } }).resource.uri, 'docs+file:///docs/readme.txt');
    await assert.rejects(c.getPrompt({ name: 'docs__nope' }), /Unknown prompt/);
    await c.close();
  });

  it('reads text and binary resources and a templated one, under namespaced URIs', async () => {
    const c = await client(gw.mcpUrl);
    const { resources } = await c.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ['docs+file:///docs/readme.txt', 'docs+file:///img/logo.png']);
    const text = await c.readResource({ uri: 'docs+file:///docs/readme.txt' });
    assert.deepEqual(text.contents, [{ uri: 'docs+file:///docs/readme.txt', mimeType: 'text/plain', text: 'hello from the readme' }]);
    const binary = await c.readResource({ uri: 'docs+file:///img/logo.png' });
    assert.deepEqual(Buffer.from((binary.contents[0] as { blob: string }).blob, 'base64'), PNG);
    const { resourceTemplates } = await c.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['docs+inventory://items/{sku}']);
    const item = await c.readResource({ uri: 'docs+inventory://items/IT-LT-14' });
    assert.equal((item.contents[0] as { text: string }).text, '{"sku":"IT-LT-14"}');
    assert.equal(item.contents[0]?.uri, 'docs+inventory://items/IT-LT-14');
    await assert.rejects(c.readResource({ uri: 'nobody+file:///x' }), /Unknown resource/);
    await c.close();
  });

  it('delivers resources/updated to the subscriber only, and unsubscribes upstream when it leaves', async () => {
    const a = await client(gw.mcpUrl);
    const b = await client(gw.mcpUrl);
    const seen: { a: string[]; b: string[] } = { a: [], b: [] };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { seen.a.push(n.params.uri); });
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { seen.b.push(n.params.uri); });
    await a.subscribeResource({ uri: 'docs+file:///docs/readme.txt' });
    assert.equal(rich.subscribed.get('file:///docs/readme.txt')?.size, 1, 'the backend got one subscription');
    await rich.touch('file:///docs/readme.txt');
    await eventually(() => seen.a.length === 1, 3000, 'update delivered');
    assert.deepEqual(seen.a, ['docs+file:///docs/readme.txt']);
    assert.deepEqual(seen.b, []);
    await a.unsubscribeResource({ uri: 'docs+file:///docs/readme.txt' });
    assert.equal(rich.subscribed.get('file:///docs/readme.txt')?.size, 0, 'unsubscribed upstream');
    await a.close();
    await b.close();
  });

  it('routes completion for prompt arguments and template variables', async () => {
    const c = await client(gw.mcpUrl);
    const prompt = await c.complete({ ref: { type: 'ref/prompt', name: 'docs__summarize' }, argument: { name: 'topic', value: 'in' } });
    assert.deepEqual(prompt.completion.values, ['inventory', 'incident', 'invoice']);
    const template = await c.complete({ ref: { type: 'ref/resource', uri: 'docs+inventory://items/{sku}' }, argument: { name: 'sku', value: 'IT-M' } });
    assert.deepEqual(template.completion.values, ['IT-MN-27']);
    await c.close();
  });

  it('passes progress notifications to the client, token mapped back', async () => {
    const c = await client(gw.mcpUrl);
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const result = await c.callTool({ name: 'docs__progress', arguments: { steps: 4 } }, undefined, { onprogress: (p) => { progress.push(p); } });
    assert.equal(textOf(result), 'done 4');
    assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
    assert.equal(progress[3]?.message, 'step 4');
    await c.close();
  });

  it('cancels a long call at the backend when the client cancels it', async () => {
    const c = await client(gw.mcpUrl);
    const controller = new AbortController();
    const before = rich.cancelled;
    const call = c.callTool({ name: 'docs__slow', arguments: {} }, undefined, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 200));
    controller.abort('user gave up');
    await assert.rejects(call);
    await eventually(() => rich.cancelled === before + 1, 3000, 'backend saw the cancellation');
    await c.close();
  });

  it('relays a sampling request to the client that made the call, and the answer back', async () => {
    const c = await client(gw.mcpUrl, { sampling: {} });
    c.setRequestHandler(CreateMessageRequestSchema, (request) => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: `echo: ${(request.params.messages[0]?.content as { text: string }).text}` },
    }));
    const result = await c.callTool({ name: 'docs__ask_llm', arguments: { question: '재고?' } });
    assert.equal(textOf(result), 'model said: echo: 재고?');
    // Calls on the SDK path are logged with their routing too.
    const line = await eventually(() => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'mcp request' && l.tool === 'docs__ask_llm'), 2000, 'log line');
    assert.equal(line.backend, 'docs');
    assert.equal(line.status, 'ok');
    assert.equal(typeof line.instance, 'string');
    await c.close();
  });

  it('relays elicitation: accepted and declined', async () => {
    const c = await client(gw.mcpUrl, { elicitation: { form: {} } });
    let accept = true;
    c.setRequestHandler(ElicitRequestSchema, () => (accept ? { action: 'accept', content: { ok: true } } : { action: 'decline' }));
    assert.equal(textOf(await c.callTool({ name: 'docs__confirm', arguments: { action: 'delete' } })), 'accept:{"ok":true}');
    accept = false;
    assert.equal(textOf(await c.callTool({ name: 'docs__confirm', arguments: { action: 'delete' } })), 'decline:{}');
    await c.close();
  });

  it('relays roots/list, and gives the backend a clean error for a client without the capability', async () => {
    const withRoots = await client(gw.mcpUrl, { roots: {} });
    withRoots.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
    assert.equal(textOf(await withRoots.callTool({ name: 'docs__roots', arguments: {} })), 'file:///work');
    await withRoots.close();
    const without = await client(gw.mcpUrl);
    const result = await without.callTool({ name: 'docs__roots', arguments: {} });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /roots failed: .*does not support roots\/list/);
    await without.close();
  });

  it('delivers a backend log message to the session whose call caused it, honouring its level', async () => {
    const c = await client(gw.mcpUrl, {});
    const messages: string[] = [];
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { messages.push(String(n.params.data)); });
    await c.setLoggingLevel('warning');
    await c.callTool({ name: 'docs__log', arguments: { level: 'info' } }, undefined, { onprogress: () => undefined });
    await c.callTool({ name: 'docs__log', arguments: { level: 'error' } }, undefined, { onprogress: () => undefined });
    await eventually(() => messages.length >= 1, 2000, 'log message');
    assert.deepEqual(messages, ['a error message']);
    await c.close();
  });
});

describe('paged lists', () => {
  let backend: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    backend = await startBackend({ tools: Array.from({ length: 2000 }, (_, i) => ({ name: `tool_${String(i).padStart(4, '0')}` })) });
    gw = await startGateway({ server: { pageSize: 300 }, discovery: { static: [{ prefix: 'big', url: backend.url }] } });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 2000, 10_000, '2,000 tools');
  });

  after(async () => {
    await gw.close();
    await backend.close();
  });

  it('walks 2,000 tools in pages, each seen once, even while the catalog changes', async () => {
    const c = await client(gw.mcpUrl);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const result = await c.listTools(cursor ? { cursor } : undefined);
      seen.push(...result.tools.map((t) => t.name));
      cursor = result.nextCursor;
      pages += 1;
      if (pages === 2) {
        // The catalog changes mid-walk: one tool goes, one arrives.
        backend.setTools([...Array.from({ length: 2000 }, (_, i) => ({ name: `tool_${String(i).padStart(4, '0')}` })).filter((t) => t.name !== 'tool_1500'), { name: 'tool_9999' }]);
        await eventually(() => gw.gateway.catalog.catalog.routes.has('big__tool_9999'), 5000, 'change applied');
      }
    } while (cursor);
    assert.equal(pages, 7);
    assert.equal(new Set(seen).size, seen.length, 'no tool seen twice');
    assert.ok(seen.includes('big__tool_0000') && seen.includes('big__tool_1999'));
    assert.ok(!seen.includes('big__tool_1500'), 'a tool removed before its page is not listed');
    await assert.rejects(c.listTools({ cursor: 'not-a-cursor' }), /Invalid cursor/);
    await c.close();
  });
});

describe('per-backend timeouts', () => {
  let rich: RichBackend;
  let gw: RunningGateway;

  before(async () => {
    rich = await startRichBackend();
    gw = await startGateway({ discovery: { static: [{ prefix: 'docs', url: rich.url }] }, backends: { docs: { timeoutSeconds: 0.3 } } });
    await eventually(() => gw.gateway.catalog.catalog.routes.has('docs__slow'), 5000, 'tools');
  });

  after(async () => {
    await gw.close();
    await rich.close();
  });

  it('fails a call that outlives its backend timeout, naming the backend, and cancels it there', async () => {
    const c = await client(gw.mcpUrl);
    const before = rich.cancelled;
    const started = Date.now();
    const result = await c.callTool({ name: 'docs__slow', arguments: {} });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /backend "docs" did not answer within 300 ms/);
    assert.ok(Date.now() - started < 5000);
    await eventually(() => rich.cancelled === before + 1, 3000, 'backend told to stop');
    await c.close();
  });

  it('keeps a call going past the timeout while it reports progress', async () => {
    const c = await client(gw.mcpUrl);
    const result = await c.callTool({ name: 'docs__progress', arguments: { steps: 30 } }, undefined, { onprogress: () => undefined });
    assert.equal(textOf(result), 'done 30', '30 steps of 20 ms each outlast 300 ms');
    await c.close();
  });
});

describe('rate limits on prompts and resources', () => {
  it('count prompts/get and resources/read against their backend rule', async () => {
    const rich = await startRichBackend();
    const gw = await startGateway({ discovery: { static: [{ prefix: 'docs', url: rich.url }] }, rateLimit: { backends: { docs: { points: 2, duration: 60 } } } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.resources.length === 2, 5000, 'resources');
      const c = await client(gw.mcpUrl);
      await c.readResource({ uri: 'docs+file:///docs/readme.txt' });
      await c.getPrompt({ name: 'docs__summarize', arguments: { topic: 'x' } });
      await assert.rejects(c.readResource({ uri: 'docs+file:///docs/readme.txt' }), /429|Rate limit exceeded \(backend:docs\)/);
      await c.close();
    } finally {
      await gw.close();
      await rich.close();
    }
  });
});
