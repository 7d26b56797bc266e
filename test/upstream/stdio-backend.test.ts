// A local stdio server behind the gateway: started by it, its tools routed like any
// backend's, and started again when it exits.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectClient, eventually, startGateway, textOf } from '../fixtures/gateway.js';

describe('stdio backends', () => {
  it('runs a stdio server from the config, routes its tools, and restarts it when it exits', async () => {
    const gw = await startGateway({
      discovery: { static: [{ prefix: 'local', command: process.execPath, args: [join(process.cwd(), 'dist/test/fixtures/stdio-server.js')], env: { GREETING: 'hi ' } }] },
      upstream: { maxBackoffSeconds: 1 },
    });
    try {
      await eventually(() => gw.gateway.catalog.catalog.tools.length === 3, 10_000, 'stdio tools');
      const c = await connectClient(gw.mcpUrl);
      assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name), ['local__crash', 'local__echo', 'local__whoami']);
      assert.equal(textOf(await c.client.callTool({ name: 'local__echo', arguments: { text: '노트북' } })), 'hi 노트북');
      const first = textOf(await c.client.callTool({ name: 'local__whoami', arguments: {} }));
      await c.client.callTool({ name: 'local__crash', arguments: {} });
      const second = await eventually(async () => {
        const r = await c.client.callTool({ name: 'local__whoami', arguments: {} });
        return r.isError || textOf(r) === first ? undefined : textOf(r);
      }, 10_000, 'a restarted server answers');
      assert.notEqual(second, first, 'a new process answers');
      assert.ok(gw.logs.some((l) => l.includes('stdio fixture started')), 'its stderr is logged');
      await c.close();
    } finally {
      await gw.close();
    }
  });

  it('refuses a static backend with both url and command', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    assert.throws(() => parseConfig({ discovery: { static: [{ prefix: 'x', url: 'http://127.0.0.1:1/mcp', command: 'node' }] } }), /exactly one of url or command/);
  });
});
