// Call overhead: an echo tool called directly on an SDK backend and through the gateway, with
// the same SDK client, in the same run. Backends and gateways are child processes (the load
// client is this process), so each has its own event loop, as in production; all share the
// machine's cores. Rounds alternate the targets in rotating order and the medians are reported.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../test/fixtures/free-port.js';
import { cpuMs, distPath, median, percentile, progress, readyLine, round, spawnNode, until, type Child } from './lib.js';

export interface CallsOptions {
  rounds: number;
  warmupCalls: number;
  latencyCalls: number;
  concurrency: number;
  throughputMs: number;
  throughputWarmupMs: number;
  /** The SSE-answering backend gets a shorter run (it is the secondary case). */
  sseLatencyCalls: number;
  sseThroughputMs: number;
}

interface Target {
  key: string;
  label: string;
  group: 'json' | 'sse';
  url: string;
  tool: string;
  /** Process whose CPU time is the hop under test (gateway), if any. */
  hop: Child | undefined;
  client?: Client;
}

export interface RunFigures {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  c16p50: number;
  c16p99: number;
  /** CPU µs per call at concurrency 16: this load client, the backend, the gateway. */
  cpuClientUs: number;
  cpuBackendUs: number;
  cpuGatewayUs: number | null;
  errors: number;
}

export interface TargetResult extends Omit<RunFigures, 'cpuGatewayUs'> {
  key: string;
  label: string;
  group: 'json' | 'sse';
  cpuGatewayUs: number | null;
  rounds: RunFigures[];
  /** Against the direct target of the same group: median of per-round ratios. */
  p50Ratio: number | null;
  rpsRatio: number | null;
  p50RatioRounds: number[];
  rpsRatioRounds: number[];
}

export interface CallsResult {
  options: CallsOptions;
  targets: TargetResult[];
  targetsMet: { p50Ratio: boolean; rpsRatio: boolean };
}

const ARGS = { message: 'hello, gateway' };

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/_SERVER_URL$/.test(key) || ['CONSUL_HTTP_ADDR', 'CONSUL_HTTP_TOKEN', 'PORT', 'HOST', 'LOG_LEVEL', 'MCP_GATEWAY_CONFIG', 'REDIS_URL', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}

/** The gateway CLI as a child process on a free port, config in a temp file (not yet ready). */
export async function spawnGateway(label: string, config: Record<string, unknown>, opts: { stdoutToNull: boolean }): Promise<{ child: Child; url: string; port: number }> {
  const port = await freePort();
  const full = { ...config, server: { host: '127.0.0.1', port, ...((config.server as object | undefined) ?? {}) } };
  const configPath = join(tmpdir(), `mcp-gateway-bench-${label}-${process.pid}.json`);
  await writeFile(configPath, JSON.stringify(full, null, 2));
  const child = spawnNode(label, distPath('../src/cli/main.js'), ['serve', '--config', configPath], {
    stdoutToNull: opts.stdoutToNull,
    env: cleanEnv(),
    // For investigation only, e.g. BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
    ...(process.env.BENCH_GATEWAY_NODE_ARGS ? { nodeArgs: process.env.BENCH_GATEWAY_NODE_ARGS.split(' ') } : {}),
  });
  return { child, url: `http://127.0.0.1:${port}`, port };
}

/** Polls /readyz until it answers 200 with at least `tools` tools; `onAnswer` sees every answer. */
export async function waitGatewayTools(gateway: { child: Child; url: string }, tools: number, timeoutMs: number, everyMs = 25, onAnswer?: (status: number, tools: number) => void): Promise<void> {
  await until(`${gateway.child.label} ready with ${tools} tools`, async () => {
    if (!gateway.child.alive()) throw new Error(`${gateway.child.label} exited:\n${gateway.child.tail()}`);
    const res = await fetch(`${gateway.url}/readyz`);
    const body = (await res.json()) as { tools?: number };
    onAnswer?.(res.status, body.tools ?? 0);
    return res.status === 200 && (body.tools ?? 0) >= tools ? true : undefined;
  }, timeoutMs, everyMs);
}

async function startGatewayChild(label: string, config: Record<string, unknown>, opts: { stdoutToNull: boolean; tools: number }): Promise<{ child: Child; url: string }> {
  const gateway = await spawnGateway(label, config, opts);
  try {
    await waitGatewayTools(gateway, opts.tools, 20_000);
  } catch (error) {
    await gateway.child.stop();
    throw error;
  }
  return gateway;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'bench-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function callOnce(client: Client, tool: string): Promise<boolean> {
  try {
    const result = await client.callTool({ name: tool, arguments: ARGS });
    return result.isError !== true;
  } catch {
    return false;
  }
}

async function latencyRun(client: Client, tool: string, warmup: number, calls: number): Promise<{ p50: number; p99: number; mean: number; errors: number }> {
  let errors = 0;
  for (let i = 0; i < warmup; i++) if (!(await callOnce(client, tool))) errors += 1;
  const samples: number[] = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    if (!(await callOnce(client, tool))) errors += 1;
    samples[i] = performance.now() - t;
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean, errors };
}

async function loadFor(client: Client, tool: string, concurrency: number, ms: number): Promise<{ calls: number; elapsedMs: number; samples: number[]; errors: number }> {
  const samples: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = performance.now();
      if (!(await callOnce(client, tool))) errors += 1;
      samples.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls: samples.length, elapsedMs: performance.now() - start, samples, errors };
}

async function throughputRun(target: Target, backend: Child, opts: CallsOptions, ms: number): Promise<Pick<RunFigures, 'rps' | 'c16p50' | 'c16p99' | 'cpuClientUs' | 'cpuBackendUs' | 'cpuGatewayUs' | 'errors'>> {
  const client = target.client!;
  await loadFor(client, target.tool, opts.concurrency, opts.throughputWarmupMs);
  const clientBefore = process.cpuUsage();
  const backendBefore = await cpuMs(backend.pid);
  const hopBefore = target.hop ? await cpuMs(target.hop.pid) : 0;
  const run = await loadFor(client, target.tool, opts.concurrency, ms);
  const clientCpu = process.cpuUsage(clientBefore);
  const backendCpu = (await cpuMs(backend.pid)) - backendBefore;
  const hopCpu = target.hop ? (await cpuMs(target.hop.pid)) - hopBefore : 0;
  run.samples.sort((a, b) => a - b);
  const perCall = (ms: number): number => (ms * 1000) / run.calls;
  return {
    rps: (run.calls / run.elapsedMs) * 1000,
    c16p50: percentile(run.samples, 50),
    c16p99: percentile(run.samples, 99),
    cpuClientUs: perCall((clientCpu.user + clientCpu.system) / 1000),
    cpuBackendUs: perCall(backendCpu),
    cpuGatewayUs: target.hop ? perCall(hopCpu) : null,
    errors: run.errors,
  };
}

export async function runCalls(opts: CallsOptions): Promise<CallsResult> {
  progress('calls: starting the echo backends (JSON and SSE) in a child process');
  const backend = spawnNode('echo-backends', distPath('./echo-backends.js'), []);
  const urls = await backend.waitLine((line) => readyLine<{ json: string; sse: string }>(line));
  const gateways: Child[] = [];
  const clients: Client[] = [];
  try {
    const staticBackends = [{ prefix: 'j', url: urls.json }, { prefix: 's', url: urls.sse }];
    progress('calls: starting gateway A (logging.level warn) and gateway B (info, request log to /dev/null)');
    const quiet = await startGatewayChild('gw-warn', { discovery: { static: staticBackends }, logging: { level: 'warn' } }, { stdoutToNull: false, tools: 2 });
    gateways.push(quiet.child);
    const logged = await startGatewayChild('gw-info', { discovery: { static: staticBackends }, logging: { level: 'info' } }, { stdoutToNull: true, tools: 2 });
    gateways.push(logged.child);

    const targets: Target[] = [
      { key: 'json-direct', label: 'direct', group: 'json', url: urls.json, tool: 'echo', hop: undefined },
      { key: 'json-gateway', label: 'gateway (log warn)', group: 'json', url: `${quiet.url}/mcp`, tool: 'j__echo', hop: quiet.child },
      { key: 'json-gateway-log', label: 'gateway (log info > /dev/null)', group: 'json', url: `${logged.url}/mcp`, tool: 'j__echo', hop: logged.child },
      { key: 'sse-direct', label: 'direct', group: 'sse', url: urls.sse, tool: 'echo', hop: undefined },
      { key: 'sse-gateway', label: 'gateway (log warn)', group: 'sse', url: `${quiet.url}/mcp`, tool: 's__echo', hop: quiet.child },
    ];
    for (const target of targets) {
      target.client = await connect(target.url);
      clients.push(target.client);
      if (!(await callOnce(target.client, target.tool))) throw new Error(`calls: ${target.key}: a first call of ${target.tool} failed`);
    }

    const figures = new Map<string, RunFigures[]>(targets.map((t) => [t.key, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const group of ['json', 'sse'] as const) {
        const inGroup = targets.filter((t) => t.group === group);
        // Rotate the order each round so no target always runs first (or right after another).
        const order = inGroup.map((_, i) => inGroup[(i + r) % inGroup.length]!);
        const latencyCalls = group === 'json' ? opts.latencyCalls : opts.sseLatencyCalls;
        const throughputMs = group === 'json' ? opts.throughputMs : opts.sseThroughputMs;
        for (const target of order) {
          const lat = await latencyRun(target.client!, target.tool, opts.warmupCalls, latencyCalls);
          const tput = await throughputRun(target, backend, opts, throughputMs);
          const run: RunFigures = { ...lat, ...tput, errors: lat.errors + tput.errors };
          figures.get(target.key)!.push(run);
          progress(`calls: round ${r + 1}/${opts.rounds} ${group} ${target.label.padEnd(31)} p50 ${run.p50.toFixed(3)} ms  p99 ${run.p99.toFixed(3)} ms  c${opts.concurrency} ${run.rps.toFixed(0)} calls/s${run.errors ? `  ERRORS ${run.errors}` : ''}`);
        }
      }
    }

    const results: TargetResult[] = targets.map((target) => {
      const runs = figures.get(target.key)!;
      const direct = figures.get(`${target.group}-direct`)!;
      const med = (pick: (f: RunFigures) => number): number => round(median(runs.map(pick)), 4);
      const p50Rounds = runs.map((f, i) => round(f.p50 / direct[i]!.p50, 3));
      const rpsRounds = runs.map((f, i) => round(f.rps / direct[i]!.rps, 3));
      const isDirect = target.key.endsWith('-direct');
      return {
        key: target.key,
        label: target.label,
        group: target.group,
        p50: med((f) => f.p50),
        p99: med((f) => f.p99),
        mean: med((f) => f.mean),
        rps: round(median(runs.map((f) => f.rps)), 0),
        c16p50: med((f) => f.c16p50),
        c16p99: med((f) => f.c16p99),
        cpuClientUs: round(median(runs.map((f) => f.cpuClientUs)), 0),
        cpuBackendUs: round(median(runs.map((f) => f.cpuBackendUs)), 0),
        cpuGatewayUs: target.hop ? round(median(runs.map((f) => f.cpuGatewayUs ?? 0)), 0) : null,
        errors: runs.reduce((a, f) => a + f.errors, 0),
        rounds: runs,
        p50Ratio: isDirect ? null : round(median(p50Rounds), 3),
        rpsRatio: isDirect ? null : round(median(rpsRounds), 3),
        p50RatioRounds: isDirect ? [] : p50Rounds,
        rpsRatioRounds: isDirect ? [] : rpsRounds,
      };
    });
    const main = results.find((t) => t.key === 'json-gateway')!;
    return {
      options: opts,
      targets: results,
      targetsMet: { p50Ratio: (main.p50Ratio ?? Infinity) <= 1.4, rpsRatio: (main.rpsRatio ?? 0) >= 0.7 },
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await backend.stop();
  }
}
