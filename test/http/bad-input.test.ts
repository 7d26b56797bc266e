// CONTRACT §5 over real HTTP: malformed JSON, invalid JSON-RPC, oversized bodies, unknown
// sessions and methods get their documented answers, and the gateway keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, type RunningGateway } from '../fixtures/gateway.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('bad input at /mcp', () => {
  let backend: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    backend = await startBackend({ tools: [{ name: 'echo' }] });
    gw = await startGateway({ server: { maxBodyBytes: 64 * 1024 }, discovery: { static: [{ prefix: 'ops', url: backend.url }] } });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 1, 5000, 'tools');
  });

  after(async () => {
    await gw.close();
    await backend.close();
  });

  async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { code: number; message: string } } }> {
    const res = await fetch(gw.mcpUrl, { method: 'POST', headers: { ...HEADERS, ...headers }, body });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  }

  it('answers malformed JSON with 400 and a JSON-RPC parse error', async () => {
    const { status, json } = await post('{"jsonrpc": "2.0", "method": ');
    assert.equal(status, 400);
    assert.equal(json.error?.code, -32700);
  });

  it('answers invalid JSON-RPC with 400 and invalid-request', async () => {
    for (const body of ['{"hello": "world"}', '[]', '42', '{"jsonrpc": "1.0", "method": "ping", "id": 1}']) {
      const { status, json } = await post(body);
      assert.equal(status, 400, body);
      assert.equal(json.error?.code, -32600, body);
    }
  });

  it('answers an oversized body with 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ops__echo', arguments: { blob: 'x'.repeat(70 * 1024) } } });
    const { status, json } = await post(big);
    assert.equal(status, 413);
    assert.equal(json.error?.code, -32600);
  });

  it('answers an oversized body sent without a length (chunked) with 413, and keeps serving', async () => {
    const piece = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Never more than the cap and a bit: the gateway stops reading once past it.
        if (sent++ < 8) controller.enqueue(piece);
        else controller.close();
      },
    });
    const res = await fetch(gw.mcpUrl, { method: 'POST', headers: HEADERS, body: stream, duplex: 'half' });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    assert.equal(((await res.json()) as { error?: { code?: number } }).error?.code, -32600);
    const after = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    assert.equal(after.status, 400, 'the gateway still answers (no session: 400)');
  });

  it('answers an unknown session with 404 and a request without one with 400', async () => {
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal((await post(call, { 'mcp-session-id': 'no-such-session' })).status, 404);
    assert.equal((await post(call)).status, 400);
  });

  it('answers an unsupported HTTP method with 405', async () => {
    const res = await fetch(gw.mcpUrl, { method: 'PUT', headers: HEADERS, body: '{}' });
    assert.equal(res.status, 405);
  });

  it('keeps serving real clients after all of that', async () => {
    const c = await connectClient(gw.mcpUrl);
    const result = await c.client.callTool({ name: 'ops__echo', arguments: { ok: true } });
    assert.notEqual(result.isError, true);
    const health = await fetch(`${gw.url}/healthz`);
    assert.equal(health.status, 200);
    await c.close();
  });

  it('serves /readyz and the admin views', async () => {
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    const backends = (await (await fetch(`${gw.url}/admin/backends`)).json()) as { prefix: string; service: string; source: string; instances: { id: string; address: string; port: number; healthy: boolean }[] }[];
    assert.deepEqual(backends.map((b) => [b.prefix, b.source, b.instances.length, b.instances[0]?.healthy, b.instances[0]?.port]), [['ops', 'static', 1, true, backend.port]]);
    const tools = (await (await fetch(`${gw.url}/admin/tools`)).json()) as { name: string; backend: string; original: string }[];
    assert.deepEqual(tools.map((t) => [t.name, t.backend, t.original]), [['ops__echo', 'ops', 'echo']]);
  });
});
