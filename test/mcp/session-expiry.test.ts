// Sessions of clients that vanish without DELETE are closed once idle; a client that keeps
// its event stream open is not idle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway } from '../fixtures/gateway.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('idle client sessions', () => {
  it('are closed after server.sessionIdleSeconds, unless a stream is open', async () => {
    const backend = await startBackend({ tools: [{ name: 'echo' }] });
    const gw = await startGateway({ server: { sessionIdleSeconds: 1 }, discovery: { static: [{ prefix: 'ops', url: backend.url }] } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.tools.length === 1, 5000, 'tools');
      const init = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gone', version: '1' } } }),
      });
      await init.text();
      const abandoned = init.headers.get('mcp-session-id')!;
      const listening = await connectClient(gw.mcpUrl);
      assert.equal(gw.gateway.sessions.size, 2);
      await eventually(() => gw.gateway.sessions.size === 1, 5000, 'the abandoned session closed');
      const late = await fetch(gw.mcpUrl, { method: 'POST', headers: { ...HEADERS, 'mcp-session-id': abandoned }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      assert.equal(late.status, 404, 'the client must initialize again');
      assert.equal((await listening.client.listTools()).tools.length, 1, 'a client with an open stream keeps its session');
      assert.ok(gw.logs.some((l) => l.includes('idle client session closed')));
      await listening.close();
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
