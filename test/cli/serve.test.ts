// The `mcp-gateway` command as users run it: an invalid config exits 2 naming the field;
// `serve` with `<NAME>_SERVER_URL` serves that backend, and SIGTERM stops it cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { freePort } from '../fixtures/free-port.js';
import { connectClient, eventually } from '../fixtures/gateway.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

function run(args: string[], env: Record<string, string> = {}): { child: ReturnType<typeof spawn>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return { child, out: () => out, err: () => err };
}

describe('mcp-gateway serve', () => {
  it('exits 2 with the field named when the config file is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-cli-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'discovery:\n  static:\n    - { prefix: "Bad Prefix", url: "http://127.0.0.1:1/mcp" }\n');
    const { child, err } = run(['serve', '--config', file]);
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 2);
    assert.match(err(), /discovery\.static\.0\.prefix/);
  });

  it('exits 2 for a config file that is not YAML, and for an unknown command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-cli-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'server: [unclosed\n');
    const bad = run(['serve', '--config', file]);
    assert.equal(((await once(bad.child, 'exit')) as [number])[0], 2);
    const unknown = run(['frobnicate']);
    assert.equal(((await once(unknown.child, 'exit')) as [number])[0], 2);
  });

  it('serves <NAME>_SERVER_URL backends and stops on SIGTERM', async () => {
    const backend = await startBackend({ tools: [{ name: 'lookup_inventory' }] });
    const port = await freePort();
    const { child, out } = run(['serve'], { PORT: String(port), OPS_SERVER_URL: backend.url, LOG_LEVEL: 'info' });
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000, 'ready');
      const c = await connectClient(`http://127.0.0.1:${port}/mcp`);
      await eventually(async () => (await c.client.listTools()).tools.some((t) => t.name === 'ops__lookup_inventory'), 5000, 'tool listed');
      await c.close();
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0);
      assert.match(out(), /gateway stopped/);
      assert.ok(out().split('\n').filter(Boolean).every((l) => JSON.parse(l)), 'stdout is JSON lines');
    } finally {
      child.kill('SIGKILL');
      await backend.close();
    }
  });
});

describe('mcp-gateway keygen', () => {
  it('prints a key and the sha256 line that verifies it', async () => {
    const { child, out } = run(['keygen']);
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const key = /key \(give to the client; shown once\): (\S+)/.exec(out())?.[1];
    const hash = /(sha256:[0-9a-f]{64})/.exec(out())?.[1];
    assert.ok(key && hash);
    const { ApiKeyStore } = await import('../../src/auth/api-keys.js');
    const store = new ApiKeyStore([{ id: 'x', key: hash, admin: false }]);
    assert.equal(store.verify(key)?.id, 'x');
    assert.equal(store.verify(`${key}x`), undefined);
  });
});

describe('mcp-gateway client-config and stdio', () => {
  it('prints a Claude Desktop block whose command, run as a client runs it, reaches the fleet', async () => {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { startGateway } = await import('../fixtures/gateway.js');
    const backend = await startBackend({ tools: [{ name: 'lookup_inventory' }] });
    const gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: backend.url }] } });
    try {
      const { child, out } = run(['client-config', '--gateway', gw.url, '--mode', 'bridge']);
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0);
      const config = JSON.parse(out()) as { mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }> };
      const [entry] = Object.values(config.mcpServers);
      assert.ok(entry && entry.args.includes('stdio'), out());
      const client = new Client({ name: 'desktop-like', version: '1' });
      await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, ...(entry.env ? { env: { ...entry.env, PATH: process.env.PATH ?? '' } } : {}), stderr: 'ignore' }));
      await eventually(async () => (await client.listTools()).tools.some((t) => t.name === 'ops__lookup_inventory'), 5000, 'tools through the bridge');
      await client.close();
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
