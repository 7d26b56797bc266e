// Scale: 1,000 Consul services x 5 tools, all served by one backend process on distinct paths,
// registered (checks passing) before the gateway starts. The gateway runs as a child process
// (the CLI) so its RSS, sockets and CPU time are its own. Measured: time to converge (5,000
// tools in the catalog), RSS, TCP connections held to Consul's HTTP port, and CPU time spent
// over an idle window in which nothing changes.
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnGateway, waitGatewayTools } from './calls.js';
import { cpuMs, distPath, memoryMiB, progress, readyLine, round, spawnNode, tcpSockets, threadCpuDelta, threadCpuMs, until } from './lib.js';

export interface ScaleOptions {
  services: number;
  toolsPerService: number;
  registerConcurrency: number;
  idleMs: number;
  convergeTimeoutMs: number;
}

export interface ScaleResult {
  services: number;
  tools: number;
  registerSeconds: number;
  /** From spawning the gateway process to 5,000 tools in its catalog. */
  convergedSeconds: number;
  /** From spawning to the first /readyz answer (process start, listen). */
  firstAnswerSeconds: number;
  /** From spawning to /readyz 200 (first discovery sync). */
  readySeconds: number;
  gatewayCpuToConvergeMs: number;
  rssMiB: number;
  peakRssMiB: number;
  rssAfterIdleMiB: number;
  consulConnections: number;
  consulConnectionsAfterIdle: number;
  establishedSockets: number;
  idleWindowSeconds: number;
  idleCpuMs: number;
  idleCpuPercent: number;
  /** Idle CPU ms by thread name (main thread "node", V8 GC workers "V8 DefaultWorke", libuv "libuv-worker"). */
  idleCpuByThread: Record<string, number>;
  listToolsMs: number;
  listToolsCount: number;
  listToolsPages: number;
  sampleCallOk: boolean;
  gatewayOutputTail: string;
  targetsMet: { converged: boolean; rss: boolean; connections: boolean; idleCpu: boolean };
}

const name = (i: number): string => `scale-${String(i).padStart(4, '0')}`;
const path = (i: number): string => `/s/${String(i).padStart(4, '0')}/mcp`;

async function put(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
}

export async function runScale(consul: { addr: string; port: number }, opts: ScaleOptions): Promise<ScaleResult> {
  progress(`scale: starting one backend process serving ${opts.services} MCP servers on distinct paths`);
  const backend = spawnNode('multipath-backend', distPath('./multipath-backend.js'), [String(opts.services), String(opts.toolsPerService)]);
  let gateway: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  try {
    const { port } = await backend.waitLine((line) => readyLine<{ port: number }>(line));

    progress(`scale: registering ${opts.services} services in Consul (${opts.registerConcurrency} at a time, TTL checks registered passing)`);
    const registerStart = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < opts.services; i = next++) {
        await put(`${consul.addr}/v1/agent/service/register`, {
          Name: name(i),
          ID: `${name(i)}-1`,
          Address: '127.0.0.1',
          Port: port,
          Tags: ['mcp'],
          Meta: { mcp_path: path(i) },
          Check: { CheckID: `service:${name(i)}-1`, TTL: '30m', Status: 'passing' },
        });
      }
    };
    await Promise.all(Array.from({ length: opts.registerConcurrency }, worker));
    const filter = encodeURIComponent('ServiceTags contains "mcp" and Status == "passing"');
    await until('Consul to list every service passing', async () => {
      const res = await fetch(`${consul.addr}/v1/health/state/passing?filter=${filter}`);
      const rows = (await res.json()) as { ServiceName: string }[];
      return rows.filter((r) => r.ServiceName.startsWith('scale-')).length >= opts.services ? true : undefined;
    }, 60_000, 100);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    progress(`scale: ${opts.services} services registered and passing in ${registerSeconds.toFixed(2)} s; starting the gateway process`);

    const tools = opts.services * opts.toolsPerService;
    const spawned = performance.now();
    gateway = await spawnGateway('gw-scale', { discovery: { consul: { address: consul.addr } }, logging: { level: 'warn' } }, { stdoutToNull: false });
    let firstAnswer: number | undefined;
    let ready: number | undefined;
    let lastReport = 0;
    await waitGatewayTools(gateway, tools, opts.convergeTimeoutMs, 25, (status, count) => {
      const now = performance.now();
      firstAnswer ??= now;
      if (status === 200) ready ??= now;
      if (now - lastReport > 1000) {
        lastReport = now;
        progress(`scale: gateway /readyz ${status}, ${count} tools`);
      }
    });
    const converged = performance.now();
    const pid = gateway.child.pid;
    const cpuToConverge = await cpuMs(pid);
    const memory = await memoryMiB(pid);
    const sockets = await tcpSockets(pid, consul.port);
    progress(`scale: converged in ${((converged - spawned) / 1000).toFixed(2)} s; RSS ${memory.rss.toFixed(0)} MiB; ${sockets.toPort} connections to Consul`);

    // Let the tail of the start-up work (GC, connection pools) settle, then watch it idle.
    await sleep(2000);
    progress(`scale: idle window of ${opts.idleMs / 1000} s (nothing changes; this process does not poll the gateway)`);
    const threadsBefore = await threadCpuMs(pid);
    const idleStart = performance.now();
    await sleep(opts.idleMs);
    const idleByThread = threadCpuDelta(threadsBefore, await threadCpuMs(pid));
    const idleCpu = Object.values(idleByThread).reduce((a, b) => a + b, 0);
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const memoryAfter = await memoryMiB(pid);
    const socketsAfter = await tcpSockets(pid, consul.port);

    progress('scale: a client lists the tools and calls one');
    const client = new Client({ name: 'bench-scale', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    const listStart = performance.now();
    let listedTools = 0;
    let listPages = 0;
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      listedTools += page.tools.length;
      listPages += 1;
      cursor = page.nextCursor;
    } while (cursor && listPages < 1000);
    const listToolsMs = performance.now() - listStart;
    const sample = Math.floor(opts.services / 2);
    const called = await client.callTool({ name: `${name(sample)}__get_record`, arguments: { id: 'r-1' } });
    const text = (called.content as { type: string; text?: string }[])[0]?.text ?? '';
    await client.close();

    const result: ScaleResult = {
      services: opts.services,
      tools,
      registerSeconds: round(registerSeconds, 2),
      convergedSeconds: round((converged - spawned) / 1000, 2),
      firstAnswerSeconds: round(((firstAnswer ?? converged) - spawned) / 1000, 2),
      readySeconds: round(((ready ?? converged) - spawned) / 1000, 2),
      gatewayCpuToConvergeMs: round(cpuToConverge, 0),
      rssMiB: round(memory.rss, 1),
      peakRssMiB: round(memory.peak, 1),
      rssAfterIdleMiB: round(memoryAfter.rss, 1),
      consulConnections: sockets.toPort,
      consulConnectionsAfterIdle: socketsAfter.toPort,
      establishedSockets: sockets.established,
      idleWindowSeconds: round(idleSeconds, 2),
      idleCpuMs: round(idleCpu, 1),
      idleCpuPercent: round((idleCpu / (idleSeconds * 1000)) * 100, 3),
      idleCpuByThread: Object.fromEntries(Object.entries(idleByThread).map(([k, v]) => [k, round(v, 2)])),
      listToolsMs: round(listToolsMs, 1),
      listToolsCount: listedTools,
      listToolsPages: listPages,
      sampleCallOk: called.isError !== true && text.includes(`"service":${sample}`),
      gatewayOutputTail: gateway.child.tail(10),
      targetsMet: { converged: false, rss: false, connections: false, idleCpu: false },
    };
    result.targetsMet = {
      converged: result.convergedSeconds <= 10,
      rss: result.rssMiB <= 300,
      connections: Math.max(result.consulConnections, result.consulConnectionsAfterIdle) <= 3,
      // "No CPU while nothing changes": under 0.5% of one core (timer ticks and GC noise).
      idleCpu: result.idleCpuPercent < 0.5,
    };
    return result;
  } finally {
    await gateway?.child.stop();
    await backend.stop();
  }
}
