// The demo stack: the seed tutorial's three team servers and one gateway, each its own
// process. With a Consul address (--consul or CONSUL_HTTP_ADDR) the backends register
// themselves and the gateway discovers them; without one the gateway gets them as
// <NAME>_SERVER_URL static backends. Prints how to call it; Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { DEMO_COMPOSITE } from '../composite/demo.js';
import { tour } from './client.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '../cli/main.js');
const BACKEND = join(here, 'main.js');

interface Child {
  name: string;
  process: ChildProcess;
}

function start(name: string, args: string[], env: Record<string, string | undefined>, quiet: boolean): Child {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void => {
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      // Quiet keeps stderr: a child that fails must say why.
      if (!quiet || out === process.stderr) for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  };
  relay(child.stdout, process.stdout);
  relay(child.stderr, process.stderr);
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`[${name}] exited (${signal ?? code})\n`);
  });
  return { name, process: child };
}

let stopping = false;

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function stopAll(children: Child[]): Promise<void> {
  stopping = true;
  await Promise.all(children.map(async (c) => {
    if (c.process.exitCode !== null || c.process.signalCode !== null) return;
    c.process.kill('SIGTERM');
    const timer = setTimeout(() => c.process.kill('SIGKILL'), 8000);
    await once(c.process, 'exit');
    clearTimeout(timer);
  }));
}

function instructions(gateway: string, consul: string | undefined): string {
  const mcp = `${gateway}/mcp`;
  return `
mcp-gateway demo is up: ${mcp}  (backends: ops, hr, fin${consul ? `; discovered through Consul at ${consul}` : '; static, no Consul given'})

  # an MCP client (the official SDK) listing the tools and calling one of each team:
  node dist/src/demo/client.js ${mcp}

  # plain curl: open a session, then list and call tools
  curl -si ${mcp} -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' | grep -i mcp-session-id
  SID=<the mcp-session-id above>
  curl -s ${mcp} -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -H "mcp-session-id: $SID" \\
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ops__lookup_inventory","arguments":{"item_name":"노트북"}}}'

  # server chaining: one composite tool calling ops, hr and finance
  (in an MCP client) flow__incident_full_report {"item_name": "노트북"}

  # what the gateway routes, and its metrics
  curl -s ${gateway}/admin/backends ; curl -s ${gateway}/admin/tools ; curl -s ${gateway}/metrics | grep mcpgw_

Ctrl-C stops the stack.
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8000' },
      /** First of three consecutive ports, or three ports separated by commas. */
      'backend-port': { type: 'string', default: '8001' },
      consul: { type: 'string' },
      once: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const consul = values.consul ?? process.env.CONSUL_HTTP_ADDR;
  const port = Number(values.port);
  const given = values['backend-port'].split(',').map(Number);
  const ports = given.length === 3 ? given : [given[0]!, given[0]! + 1, given[0]! + 2];
  if (!Number.isInteger(port) || ports.some((p) => !Number.isInteger(p))) {
    process.stderr.write('usage: stack.js [--port N] [--backend-port N | N,N,N] [--consul ADDR] [--once] [--quiet]\n');
    process.exit(2);
  }
  const teams = [
    { kind: 'ops', prefix: 'OPS', port: ports[0]! },
    { kind: 'hr', prefix: 'HR', port: ports[1]! },
    { kind: 'finance', prefix: 'FIN', port: ports[2]! },
  ];
  const quiet = values.quiet || values.once;
  const children: Child[] = [];
  const shutdown = (): void => {
    process.stderr.write('\nstopping the demo stack...\n');
    void stopAll(children).then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  try {
    for (const team of teams) {
      const args = [BACKEND, team.kind, '--port', String(team.port)];
      if (consul) args.push('--consul', consul);
      children.push(start(team.kind, args, quiet ? { LOG_LEVEL: 'warn' } : {}, quiet));
    }
    for (const team of teams) {
      await waitFor(`${team.kind} backend`, async () => (await fetch(`http://127.0.0.1:${team.port}/healthz`)).ok);
    }
    // The demo gateway's config: the tutorial's server chaining as a composite tool.
    const configFile = join(mkdtempSync(join(tmpdir(), 'mcp-gateway-demo-')), 'gateway.json');
    writeFileSync(configFile, JSON.stringify({ composite: DEMO_COMPOSITE }, null, 2));
    const env: Record<string, string | undefined> = { PORT: String(port), HOST: '127.0.0.1', MCP_GATEWAY_CONFIG: configFile };
    if (consul) env.CONSUL_HTTP_ADDR = consul;
    else for (const team of teams) env[`${team.prefix}_SERVER_URL`] = `http://127.0.0.1:${team.port}/mcp`;
    children.push(start('gateway', [CLI, 'serve'], env, quiet));
    const gateway = `http://127.0.0.1:${port}`;
    await waitFor('gateway with all three backends and the composite tool', async () => {
      const tools = (await (await fetch(`${gateway}/admin/tools`)).json()) as { backend: string }[];
      return new Set(tools.map((t) => t.backend)).size === 4;
    });
    if (values.once) {
      const { tools, steps } = await tour(`${gateway}/mcp`);
      process.stdout.write(`${JSON.stringify({ tools, steps }, null, 2)}\n`);
      await stopAll(children);
      return;
    }
    process.stdout.write(instructions(gateway, consul));
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    await stopAll(children);
    process.exit(1);
  }
}

void main();
