// Curation per backend (hide, rename, describe) and prefix mode `never`, end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, textOf } from '../fixtures/gateway.js';

describe('curation', () => {
  it('hides, renames and re-describes tools of one backend', async () => {
    const ops = await startBackend({ tools: [{ name: 'a', description: 'first' }, { name: 'b', description: 'second' }, { name: 'secret_drop_db' }] });
    const gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }] },
      backends: { ops: { hide: ['secret_*'], rename: { a: 'alpha' }, descriptions: { b: 'Better words' } } },
    });
    try {
      await eventually(() => gw.gateway.catalog.catalog.tools.length === 2, 5000, 'tools');
      const c = await connectClient(gw.mcpUrl);
      const { tools } = await c.client.listTools();
      assert.deepEqual(tools.map((t) => [t.name, t.description]), [['ops__alpha', 'first'], ['ops__b', 'Better words']]);
      assert.equal(JSON.parse(textOf(await c.client.callTool({ name: 'ops__alpha', arguments: {} }))).tool, 'a');
      await assert.rejects(c.client.callTool({ name: 'ops__secret_drop_db', arguments: {} }), /Unknown tool/);
      await c.close();
    } finally {
      await gw.close();
      await ops.close();
    }
  });

  it('passes names unchanged in prefix mode never, resolving a collision by the documented rule', async () => {
    const one = await startBackend({ name: 'one', tools: [{ name: 'search' }, { name: 'only_one' }] });
    const two = await startBackend({ name: 'two', tools: [{ name: 'search' }, { name: 'only_two' }] });
    const gw = await startGateway({ naming: { prefix: 'never' }, discovery: { static: [{ prefix: 'one', url: one.url }, { prefix: 'two', url: two.url }] } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.tools.length === 4, 5000, 'tools');
      const c = await connectClient(gw.mcpUrl);
      assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name), ['only_one', 'only_two', 'search', 'two__search']);
      assert.equal(JSON.parse(textOf(await c.client.callTool({ name: 'search', arguments: {} }))).instance, 'one');
      assert.equal(JSON.parse(textOf(await c.client.callTool({ name: 'two__search', arguments: {} }))).instance, 'two');
      assert.ok(gw.logs.some((l) => l.includes('name_collision') && l.includes('two__search')));
      await c.close();
    } finally {
      await gw.close();
      await one.close();
      await two.close();
    }
  });
});
