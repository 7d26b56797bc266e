// client-config: the pure parts (URLs, entry shapes, instance choice) by table, then both modes
// against a real gateway: direct lists each backend with its URL (read from /admin/backends
// with an admin key), and the bridge entry, launched as a client would, reaches the gateway.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '../../src/auth/api-keys.js';
import {
  bridgeEntry,
  clientConfig,
  defaultCommand,
  directEntries,
  gatewayUrls,
  TOKEN_ENV,
  type AdminBackends,
} from '../../src/bridge/client-config.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { eventually, startGateway, type RunningGateway } from '../fixtures/gateway.js';
import { RUNNER, startBridge } from './bridge-client.js';

const instance = (id: string, url: string, healthy = true, connected = true): AdminBackends[number]['instances'][number] => {
  const { hostname, port } = new URL(url);
  return { id, address: hostname, port: Number(port), healthy, url, connected };
};

describe('client-config (pure)', () => {
  it('derives the admin base and the MCP endpoint from either form of the gateway URL', () => {
    for (const [input, base] of [
      ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
      ['http://127.0.0.1:8000/', 'http://127.0.0.1:8000'],
      ['http://127.0.0.1:8000/mcp', 'http://127.0.0.1:8000'],
      ['https://gw.example.com/tools/mcp/', 'https://gw.example.com/tools'],
    ] as const) {
      assert.deepEqual(gatewayUrls(input), { base, mcp: `${base}/mcp` }, input);
    }
  });

  it('bridge entry: this installation by default, the token in env, never in args', () => {
    const [node, main] = defaultCommand();
    assert.equal(node, process.execPath);
    assert.match(main ?? '', /dist\/src\/cli\/main\.js$/);
    assert.ok(existsSync(main ?? ''), `${main} exists`);
    assert.deepEqual(bridgeEntry('http://gw:8000/mcp', { token: 'secret-token' }), {
      command: process.execPath,
      args: [main, 'stdio', '--url', 'http://gw:8000/mcp'],
      env: { [TOKEN_ENV]: 'secret-token' },
    });
    assert.deepEqual(bridgeEntry('http://gw:8000/mcp', { command: 'npx -y @acme/mcp-gateway' }), {
      command: 'npx',
      args: ['-y', '@acme/mcp-gateway', 'stdio', '--url', 'http://gw:8000/mcp'],
    });
    assert.deepEqual(bridgeEntry('http://gw:8000/mcp', { command: ['/Applications/My Tools/mcp-gateway'] }).command, '/Applications/My Tools/mcp-gateway');
  });

  it('direct entries: a healthy instance per backend (connected first), mcp-remote or http shape', () => {
    const backends: AdminBackends = [
      { prefix: 'fin', service: 'finance', source: 'consul', instances: [instance('fin-1', 'http://10.0.0.5:8003/mcp', false, false)] },
      { prefix: 'hr', service: 'hr', source: 'static', instances: [instance('hr-1', 'https://hr.example.com/mcp')] },
      {
        prefix: 'ops', service: 'ops', source: 'consul', instances: [
          instance('ops-1', 'http://10.0.0.7:8001/mcp', true, false),
          instance('ops-2', 'http://127.0.0.1:8001/mcp', true, true),
        ],
      },
    ];
    assert.deepEqual(directEntries(backends), {
      mcpServers: {
        hr: { command: 'npx', args: ['-y', 'mcp-remote', 'https://hr.example.com/mcp'] },
        ops: { command: 'npx', args: ['-y', 'mcp-remote', 'http://127.0.0.1:8001/mcp'] },
      },
      skipped: ['fin'],
    });
    // mcp-remote refuses plain http beyond localhost unless told.
    const remote = directEntries([{ ...backends[2]!, instances: [instance('ops-1', 'http://10.0.0.7:8001/mcp', true, false)] }]);
    assert.deepEqual(remote.mcpServers.ops?.args, ['-y', 'mcp-remote', 'http://10.0.0.7:8001/mcp', '--allow-http']);
    assert.deepEqual(directEntries(backends, 'http').mcpServers.ops, { type: 'http', url: 'http://127.0.0.1:8001/mcp' });
  });
});

describe('client-config against a gateway', () => {
  const ADMIN = generateKey();
  const USER = generateKey();
  let ops: TestBackend;
  let hr: TestBackend;
  let gw: RunningGateway;

  before(async () => {
    ops = await startBackend({ name: 'ops-1', tools: [{ name: 'lookup_inventory' }] });
    hr = await startBackend({ name: 'hr-1', tools: [{ name: 'search_policy' }] });
    gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }, { prefix: 'hr', url: hr.url }] },
      auth: { apiKeys: [{ id: 'root', key: ADMIN.hash, admin: true }, { id: 'desktop', key: USER.hash }] },
    });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 2, 5000, 'two tools');
  });

  after(async () => {
    await gw.close();
    await ops.close();
    await hr.close();
  });

  it('direct mode: one entry per backend, at the URL the gateway routes to', async () => {
    const config = await clientConfig({ gatewayUrl: gw.url, token: ADMIN.key, mode: 'direct' });
    assert.deepEqual(config, {
      mcpServers: {
        hr: { command: 'npx', args: ['-y', 'mcp-remote', hr.url] },
        ops: { command: 'npx', args: ['-y', 'mcp-remote', ops.url] },
      },
    });
    const http = await clientConfig({ gatewayUrl: gw.mcpUrl, token: ADMIN.key, mode: 'direct', remote: 'http' });
    assert.deepEqual(http.mcpServers.ops, { type: 'http', url: ops.url });
  });

  it('direct mode needs an admin key, and says so', async () => {
    await assert.rejects(clientConfig({ gatewayUrl: gw.url, mode: 'direct' }), /HTTP 401 .*admin key/);
    await assert.rejects(clientConfig({ gatewayUrl: gw.url, token: USER.key, mode: 'direct' }), /HTTP 403 .*admin key/);
  });

  it('bridge mode: one entry that, launched as a client launches it, reaches the whole fleet', async () => {
    const config = await clientConfig({ gatewayUrl: gw.url, token: USER.key, mode: 'bridge', command: [process.execPath, RUNNER] });
    const entry = config.mcpServers['mcp-gateway'];
    assert.deepEqual(entry, {
      command: process.execPath,
      args: [RUNNER, 'stdio', '--url', gw.mcpUrl],
      env: { [TOKEN_ENV]: USER.key },
    });
    assert.deepEqual(Object.keys(config.mcpServers), ['mcp-gateway']);
    const bridge = await startBridge([], {}, { command: entry.command, args: entry.args, env: entry.env });
    try {
      const { tools } = await bridge.client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['hr__search_policy', 'ops__lookup_inventory']);
    } finally {
      await bridge.close();
    }
  });
});
