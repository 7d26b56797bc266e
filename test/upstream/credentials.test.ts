// Outbound credentials: a backend gets the headers configured for it (from the config, or
// from Consul KV) and never the client's own bearer token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { recordingProxy } from '../fixtures/recording-proxy.js';
import { sharedConsulAddr } from '../fixtures/consul.js';
import { passCheck, registerInstance, deregisterInstance } from '../fixtures/consul-api.js';
import { connectClient, eventually, startGateway, type RunningGateway } from '../fixtures/gateway.js';

const CLIENT_KEY = 'client-key-abcdefghijklmnop';

describe('outbound credentials', () => {
  let backend: TestBackend;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let kvProxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: RunningGateway;
  const consul = sharedConsulAddr();

  before(async () => {
    backend = await startBackend({ tools: [{ name: 'echo' }] });
    proxy = await recordingProxy(backend);
    kvProxy = await recordingProxy(backend);
    const kv = await fetch(`${consul}/v1/kv/mcp-gateway-test/backends/secure/headers`, { method: 'PUT', body: JSON.stringify({ 'x-api-key': 'from-kv-secret' }) });
    assert.ok(kv.ok);
    await registerInstance(consul, { name: 'secure', id: 'secure-1', port: kvProxy.port });
    await passCheck(consul, 'secure-1');
    gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: proxy.url }], consul: { address: consul, register: false } },
      upstream: { headers: { ops: { authorization: 'Bearer backend-own-token' } }, kvPrefix: 'mcp-gateway-test/backends' },
      auth: { apiKeys: [{ id: 'client', key: CLIENT_KEY }] },
    });
    await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__echo') && gw.gateway.catalog.catalog.routes.has('secure__echo'), 10_000, 'tools');
  });

  after(async () => {
    await gw.close();
    await deregisterInstance(consul, 'secure-1');
    proxy.close();
    kvProxy.close();
    await backend.close();
  });

  it('sends the configured headers upstream and never the client token', async () => {
    const c = await connectClient(gw.mcpUrl, { authorization: `Bearer ${CLIENT_KEY}` });
    await c.client.callTool({ name: 'ops__echo', arguments: {} });
    await c.client.callTool({ name: 'secure__echo', arguments: {} });
    await c.close();
    assert.ok(proxy.seen.length > 0 && proxy.seen.every((h) => h.authorization === 'Bearer backend-own-token'));
    assert.ok(kvProxy.seen.length > 0 && kvProxy.seen.every((h) => h['x-api-key'] === 'from-kv-secret'));
    for (const headers of [...proxy.seen, ...kvProxy.seen]) assert.ok(!JSON.stringify(headers).includes(CLIENT_KEY));
  });
});
