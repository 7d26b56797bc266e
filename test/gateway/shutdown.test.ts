// Shutdown as operators rely on it: readiness fails at once, calls in flight finish, new
// connections are refused, and the gateway leaves Consul.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { sharedConsulAddr } from '../fixtures/consul.js';
import { connectClient, eventually, startGateway, textOf } from '../fixtures/gateway.js';

describe('graceful shutdown', () => {
  it('finishes calls in flight, then stops serving and deregisters', async () => {
    const consul = sharedConsulAddr();
    const backend = await startBackend({
      tools: [{ name: 'slow', handler: async () => { await new Promise((r) => setTimeout(r, 600)); return { content: [{ type: 'text', text: 'done' }] }; } }],
    });
    const gw = await startGateway({ server: { drainSeconds: 5 }, discovery: { static: [{ prefix: 'ops', url: backend.url }], consul: { address: consul } } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__slow'), 5000, 'tool');
      const serviceId = `mcp-gateway-127.0.0.1-${new URL(gw.url).port}`;
      await eventually(async () => ((await (await fetch(`${consul}/v1/agent/services`)).json()) as Record<string, unknown>)[serviceId], 5000, 'registered');
      const c = await connectClient(gw.mcpUrl);
      const call = c.client.callTool({ name: 'ops__slow', arguments: {} });
      await new Promise((r) => setTimeout(r, 100));
      const closing = gw.close();
      const result = await call;
      assert.equal(textOf(result), 'done', 'the call in flight finished');
      await closing;
      await assert.rejects(fetch(`${gw.url}/healthz`), 'no longer serving');
      const services = (await (await fetch(`${consul}/v1/agent/services`)).json()) as Record<string, unknown>;
      assert.equal(services[serviceId], undefined, 'deregistered from Consul');
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
