// The lean call path passes a backend's JSON result on as the backend wrote it (spliced into
// the gateway's own response, not parsed and re-encoded). What a client relies on: the result
// it gets is the one the backend sent, byte for byte where it matters (text, escapes, Korean),
// URIs in it are still exposed under the backend's prefix, an isError result is still logged
// as an error, and a backend whose result is not JSON is flagged in the log without harming
// the gateway.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startBackend, type TestBackend, type ToolSpec } from '../fixtures/backend.js';
import { eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

const tools: ToolSpec[] = [
  { name: 'echo', handler: (args) => ({ content: [{ type: 'text', text: String(args.message) }], structuredContent: { echoed: args.message } }) },
  {
    name: 'link',
    handler: () => ({
      content: [
        { type: 'resource_link', uri: 'file:///docs/readme.txt', name: 'readme' },
        { type: 'resource', resource: { uri: 'file:///docs/notes.txt', mimeType: 'text/plain', text: 'notes' } },
      ],
    }),
  },
  { name: 'fail', handler: () => ({ isError: true, content: [{ type: 'text', text: 'the ledger is closed' }] }) },
  { name: 'broken', handler: () => ({ content: [{ type: 'text', text: 'BROKEN' }] }) },
  { name: 'spoof', handler: () => ({ content: [{ type: 'text', text: 'SPOOF' }] }) },
  { name: 'escaped', handler: () => ({ content: [{ type: 'resource_link', uri: 'file:///docs/ESCAPED.txt', name: 'escaped' }] }) },
];

/**
 * In front of a backend: forwards POST and DELETE, and bends answers: breaks the JSON of one
 * holding "BROKEN", adds a second "id" member to one holding "SPOOF", and spells the "uri"
 * key as "\u0075ri" in one holding "ESCAPED" (valid JSON no SDK writes).
 */
async function breakingProxy(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
      void fetch(target, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) })
        .then(async (upstream) => {
          let text = (await upstream.text()).replace('"text":"BROKEN"', '"text":BROKEN');
          if (text.includes('SPOOF')) text = text.replace(',"jsonrpc":"2.0"', ',"id":"spoof","jsonrpc":"2.0"');
          if (text.includes('ESCAPED')) text = text.replace('"uri"', '"\\u0075ri"');
          const out: Record<string, string> = {};
          upstream.headers.forEach((v, k) => { if (k !== 'content-length' && k !== 'transfer-encoding') out[k] = v; });
          res.writeHead(upstream.status, out).end(text);
        })
        .catch(() => res.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ name: 'passthrough-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

function logLines(gw: RunningGateway): Record<string, unknown>[] {
  return gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('result passthrough on the lean call path', () => {
  let backend: TestBackend;
  let proxy: { url: string; server: Server };
  let gw: RunningGateway;

  before(async () => {
    backend = await startBackend({ tools, jsonResponse: true, name: 'ledger' });
    proxy = await breakingProxy(backend.url);
    gw = await startGateway({ discovery: { static: [{ prefix: 'fin', url: proxy.url }] } });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === tools.length, 5000, 'tools listed');
  });

  after(async () => {
    await gw.close();
    proxy.server.closeAllConnections();
    proxy.server.close();
    await backend.close();
  });

  it('gives the client the result the backend sent, escapes and Korean text included', async () => {
    const direct = await connect(backend.url);
    const through = await connect(gw.mcpUrl);
    const message = '노트북 "15인치" \\ 재고\n\t끝 \u2028 😀';
    const expected = await direct.callTool({ name: 'echo', arguments: { message } });
    const got = await through.callTool({ name: 'fin__echo', arguments: { message } });
    assert.deepEqual(got, expected);
    assert.equal(textOf(got), message);
    // The answer carries the client's own request id, not the one the gateway used upstream.
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': (through.transport as StreamableHTTPClientTransport).sessionId!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'mine-7', method: 'tools/call', params: { name: 'fin__echo', arguments: { message: 'x' } } }),
    });
    const body = (await res.json()) as { id: unknown; result: { content: { text: string }[] } };
    assert.equal(body.id, 'mine-7');
    assert.equal(body.result.content[0]?.text, 'x');
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'the answer names its request id');
    // A backend that slips a second "id" into its answer does not get it into the client's.
    const spoofed = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': (through.transport as StreamableHTTPClientTransport).sessionId!, 'mcp-protocol-version': '2025-06-18', 'x-request-id': 'trace-me' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'mine-8', method: 'tools/call', params: { name: 'fin__spoof', arguments: {} } }),
    });
    assert.equal(spoofed.headers.get('x-request-id'), 'trace-me');
    const spoofedText = await spoofed.text();
    assert.ok(!spoofedText.includes('spoof"'), spoofedText);
    assert.equal((JSON.parse(spoofedText) as { id: unknown }).id, 'mine-8');
    await direct.close();
    await through.close();
  });

  it('still exposes resource URIs in a result under the backend prefix', async () => {
    const c = await connect(gw.mcpUrl);
    const result = await c.callTool({ name: 'fin__link', arguments: {} });
    const content = result.content as { type: string; uri?: string; resource?: { uri: string } }[];
    assert.equal(content[0]?.uri, 'fin+file:///docs/readme.txt');
    assert.equal(content[1]?.resource?.uri, 'fin+file:///docs/notes.txt');
    // However the backend spells the key.
    const escaped = await c.callTool({ name: 'fin__escaped', arguments: {} });
    assert.equal((escaped.content as { uri?: string }[])[0]?.uri, 'fin+file:///docs/ESCAPED.txt');
    await c.close();
  });

  it('logs an isError result as an error', async () => {
    const c = await connect(gw.mcpUrl);
    const result = await c.callTool({ name: 'fin__fail', arguments: {} });
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'the ledger is closed');
    const line = await eventually(() => logLines(gw).find((l) => l.msg === 'mcp request' && l.tool === 'fin__fail'), 2000, 'log line');
    assert.equal(line.status, 'error');
    assert.equal(line.backend, 'fin');
    await c.close();
  });

  it('passes a result that is not JSON on as it came, flags it, and keeps serving', async () => {
    const c = await connect(gw.mcpUrl);
    // The client's SDK refuses the answer, as it would from the backend directly.
    await assert.rejects(c.callTool({ name: 'fin__broken', arguments: {} }), /JSON|Unexpected token/);
    const line = await eventually(() => logLines(gw).find((l) => l.msg === 'mcp request' && l.tool === 'fin__broken'), 2000, 'log line');
    assert.equal(line.status, 'error');
    assert.match(String(line.error), /not JSON/);
    assert.ok(logLines(gw).some((l) => l.level === 'warn' && String(l.msg).includes('not JSON')), 'a warning names the backend');
    const next = await c.callTool({ name: 'fin__echo', arguments: { message: 'still here' } });
    assert.equal(textOf(next), 'still here');
    await c.close();
  });
});
