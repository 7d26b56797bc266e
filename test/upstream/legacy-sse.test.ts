// A legacy HTTP+SSE backend (protocol 2024-11-05) behind the gateway: the gateway falls back
// from Streamable HTTP and clients see its tools like any other.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { z } from 'zod';
import { connectClient, eventually, startGateway, textOf } from '../fixtures/gateway.js';

async function startLegacyBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const transports = new Map<string, SSEServerTransport>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      transports.set(transport.sessionId, transport);
      const mcp = new McpServer({ name: 'legacy', version: '1.0.0' });
      mcp.registerTool('shout', { inputSchema: { text: z.string() } }, ({ text }) => ({ content: [{ type: 'text', text: text.toUpperCase() }] }));
      void mcp.connect(transport);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const transport = transports.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) return void res.writeHead(404).end();
      void transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(405).end();
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('legacy HTTP+SSE backends', () => {
  it('are reached by falling back from Streamable HTTP', async () => {
    const legacy = await startLegacyBackend();
    const gw = await startGateway({ discovery: { static: [{ prefix: 'old', url: legacy.url }] } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.routes.has('old__shout'), 10_000, 'legacy tools');
      const c = await connectClient(gw.mcpUrl);
      assert.equal(textOf(await c.client.callTool({ name: 'old__shout', arguments: { text: 'hello' } })), 'HELLO');
      assert.ok(gw.logs.some((l) => l.includes('"transport":"sse"')));
      await c.close();
    } finally {
      await gw.close();
      await legacy.close();
    }
  });
});
