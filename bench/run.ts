// `npm run bench`: the gateway's benchmark (issue 2). Sections: calls (overhead of one hop),
// hotadd (Consul check passing -> tools listed and list_changed sent), scale (1,000 services
// x 5 tools). `node dist/bench/run.js [calls] [hotadd] [scale]` runs a subset. The table goes
// to stdout, progress to stderr, figures to bench/results.json (sections not run are kept
// from the previous file, each with its own timestamp).
//
// Knobs (environment): BENCH_QUICK=1 short runs to try it out (figures to a temp file);
// BENCH_PRIORITY=-10 raise the bench processes' priority on a shared machine (root);
// BENCH_SCALE_IDLE_MS length of the idle window; for investigation, BENCH_GATEWAY_NODE_ARGS
// (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof') and BENCH_BACKEND_KEEPALIVE_MS (scale backend).
// Consul comes from CONSUL_BIN, PATH or .tools/, and redis-server (calls: the Redis-backed limits)
// from REDIS_BIN or PATH (`bash scripts/setup-services.sh` provides both).
import { setMaxListeners } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConsul, type ConsulAgent } from '../test/fixtures/consul.js';
import { runCalls, type CallsOptions, type CallsResult } from './calls.js';
import { runHotAdd, type HotAddResult, type Spread } from './hotadd.js';
import { applyPriority, benchPriority, median, progress } from './lib.js';
import { runScale, type ScaleOptions, type ScaleResult } from './scale.js';

const SECTIONS = ['calls', 'hotadd', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

const quick = process.env.BENCH_QUICK === '1';

const CALLS: CallsOptions = quick
  ? { rounds: 1, warmupCalls: 100, latencyCalls: 300, concurrency: 16, throughputMs: 1000, throughputWarmupMs: 200, sseLatencyCalls: 200, sseThroughputMs: 500, quietWaitMs: 1000, variantLatencyCalls: 200, variantThroughputMs: 500 }
  : { rounds: 5, warmupCalls: 300, latencyCalls: 2000, concurrency: 16, throughputMs: 4000, throughputWarmupMs: 500, sseLatencyCalls: 1000, sseThroughputMs: 2000, quietWaitMs: 1500, variantLatencyCalls: 800, variantThroughputMs: 3000 };
const HOTADD = { runs: quick ? 5 : 20, warmupRuns: 1 };
const SCALE: ScaleOptions = { services: 1000, toolsPerService: 5, registerConcurrency: 16, idleMs: Number(process.env.BENCH_SCALE_IDLE_MS ?? (quick ? 3000 : 10_000)), convergeTimeoutMs: 60_000 };

// Short BENCH_QUICK runs (for trying the bench out) never overwrite the reported figures.
const RESULTS = quick
  ? join(tmpdir(), 'mcp-gateway-bench-quick.json')
  : fileURLToPath(new URL('../../bench/results.json', import.meta.url));

const mark = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
const f = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));
/** A difference with its sign, e.g. +0.042 or -0.010. */
const signed = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined || Number.isNaN(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`);

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

function printCalls(result: CallsResult): void {
  const o = result.options;
  const lines: string[] = [];
  lines.push(`\n== 1. Call overhead: echo tool, SDK client, median of ${o.rounds} alternating rounds ==`);
  lines.push(`   c1: ${o.latencyCalls} calls after ${o.warmupCalls} warm-up (SSE: ${o.sseLatencyCalls}; gateway + feature: ${o.variantLatencyCalls});  c${o.concurrency}: ${o.throughputMs / 1000} s after ${o.throughputWarmupMs} ms warm-up (SSE: ${o.sseThroughputMs / 1000} s; gateway + feature: ${o.variantThroughputMs / 1000} s)`);
  lines.push('   gateway + feature rows run in the same rounds as the plain gateway (log warn) and are compared with it round by round: p50 ms added, throughput ratio');
  lines.push(`   backend, gateway and this load client are separate processes sharing ${cpus().length} cores; other processes used ${f(result.foreignCpuPercent, 1)} % of the machine meanwhile\n`);
  const rows: string[][] = [['backend', 'target', 'p50 ms', 'p99 ms', `c${o.concurrency} calls/s`, `c${o.concurrency} p50 ms`, 'p50 ×direct', 'tput ×direct', 'p50 ms +gw', 'tput ×gw', 'CPU µs/call cli/backend/gw', 'errors']];
  for (const t of result.targets) {
    rows.push([
      t.group === 'json' ? 'JSON' : 'SSE', t.label, f(t.p50), f(t.p99), f(t.rps, 0), f(t.c16p50),
      t.p50Ratio === null ? '1.00' : f(t.p50Ratio, 2), t.rpsRatio === null ? '1.00' : f(t.rpsRatio, 2),
      t.vsGateway ? signed(t.vsGateway.p50AddedMs) : '', t.vsGateway ? f(t.vsGateway.rpsRatio, 2) : '',
      `${f(t.cpuClientUs, 0)} / ${f(t.cpuBackendUs, 0)} / ${f(t.cpuGatewayUs, 0)}${t.cpuRedisUs !== null ? ` +${f(t.cpuRedisUs, 0)} redis` : ''}`, String(t.errors),
    ]);
  }
  lines.push(table(rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  const main = result.targets.find((t) => t.key === 'json-gateway')!;
  const logged = result.targets.find((t) => t.key === 'json-gateway-log')!;
  const foreign = result.targets.flatMap((t) => t.rounds.map((r) => r.foreignCpuPercent));
  lines.push(`\n   other processes' CPU during the runs: median ${f(median(foreign), 0)} %, max ${f(Math.max(...foreign), 0)} % of the machine`);
  lines.push(`   per-round ratios (JSON, log warn): p50 ${main.p50RatioRounds.join(', ')}; throughput ${main.rpsRatioRounds.join(', ')}`);
  lines.push(`   per-round ratios (JSON, log info): p50 ${logged.p50RatioRounds.join(', ')}; throughput ${logged.rpsRatioRounds.join(', ')}`);
  lines.push(`   target p50 ratio ≤ 1.40: ${f(main.p50Ratio, 2)} ${mark(result.targetsMet.p50Ratio)} (with request log: ${f(logged.p50Ratio, 2)} ${mark((logged.p50Ratio ?? 9) <= 1.4)})`);
  lines.push(`   target throughput ratio ≥ 0.70: ${f(main.rpsRatio, 2)} ${mark(result.targetsMet.rpsRatio)} (with request log: ${f(logged.rpsRatio, 2)} ${mark((logged.rpsRatio ?? 0) >= 0.7)})`);
  const floor = result.targets.find((t) => t.key === 'json-floor');
  if (floor) lines.push(`   for reference, the floor of a Node hop (bare proxy, no MCP): p50 ×direct ${f(floor.p50Ratio, 2)} (rounds ${floor.p50RatioRounds.join(', ')}); the gateway's p50 is ${f(main.p50 - floor.p50)} ms above it`);
  const fc = result.features;
  const rounds = (key: string): string => {
    const v = result.targets.find((t) => t.key === key)?.vsGateway;
    return v ? `per round: p50 ${v.p50AddedMsRounds.map((x) => signed(x)).join(', ')} ms; throughput ${v.rpsRatioRounds.map((x) => f(x, 2)).join(', ')}` : 'not measured';
  };
  lines.push('\n   feature costs against the plain gateway (log warn), medians of per-round differences:');
  lines.push(`   auth adds ${signed(fc.auth?.p50AddedMs)} ms at p50, throughput ${f(fc.auth?.rpsRatio, 2)} of auth-off  (${rounds('json-gateway-auth')})`);
  lines.push(`   Redis limits add ${signed(fc.redisLimits?.p50AddedMs)} ms at p50 (target < 0.3 ms) ${mark(fc.targetsMet.redisP50)}, throughput ${f(fc.redisLimits?.rpsRatio, 2)} of limits-off (target ≥ 0.90) ${mark(fc.targetsMet.redisRps)}  (${rounds('json-gateway-redis-limits')})`);
  lines.push(`   in-process limits add ${signed(fc.memoryLimits?.p50AddedMs)} ms at p50, throughput ${f(fc.memoryLimits?.rpsRatio, 2)} of limits-off  (${rounds('json-gateway-memory-limits')})`);
  const perCall = fc.redisLimits?.redisScriptsPerCall;
  lines.push(`   Redis limits check: ${f(perCall, 2)} limiter scripts (EVALSHA) run by Redis per call${perCall !== null && perCall !== undefined && perCall >= 0.99 ? ' (every call consumed in Redis)' : ' (SOME CALLS NOT COUNTED IN REDIS)'}, ${f(fc.redisLimits?.cpuRedisUs, 0)} µs Redis CPU per call at c${o.concurrency}, requests limited in-process (fallback): ${fc.redisFallbackRequests ?? '—'}`);
  lines.push(`   API key in the captured output of the bench's children: ${fc.apiKeyInOutput ? 'YES (leak)' : 'no'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printHotAdd(result: HotAddResult): void {
  const row = (label: string, s: Spread): string[] => [label, f(s.p50, 1), f(s.p90, 1), f(s.min, 1), f(s.max, 1)];
  const lines = [`\n== 2. Hot-add: Consul TTL check critical → passing, ${result.runs} runs (ms from the API call returning) ==\n`];
  lines.push(table([
    ['interval', 'p50', 'p90', 'min', 'max'],
    row('pass → healthy instance in gateway discovery', result.passToDiscovery),
    row('pass → tool in gateway catalog', result.passToCatalog),
    row('pass → client receives tools/list_changed', result.passToListChanged),
    row('deregister → tool gone from catalog', result.deregisterToCatalog),
    row('deregister → client receives list_changed', result.deregisterToListChanged),
  ], ['l', 'r', 'r', 'r', 'r']));
  lines.push(`\n   target p50 ≤ 150 ms (catalog and list_changed): ${f(result.passToCatalog.p50, 1)} / ${f(result.passToListChanged.p50, 1)} ms ${mark(result.targetMet)}`);
  if (result.gatewayWarnings.length) lines.push(`   gateway warnings: ${result.gatewayWarnings.length} (see results.json)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printScale(r: ScaleResult): void {
  const lines = [`\n== 3. Scale: ${r.services} Consul services × ${r.tools / r.services} tools (${r.tools} tools), one backend process ==\n`];
  lines.push(table([
    ['measure', 'value', 'target', ''],
    ['services registered and passing in Consul (setup)', `${f(r.registerSeconds, 2)} s`, '', ''],
    ['gateway: spawn → first /readyz answer', `${f(r.firstAnswerSeconds, 2)} s`, '', ''],
    ['gateway: spawn → /readyz 200 (first sync)', `${f(r.readySeconds, 2)} s`, '', ''],
    [`gateway: spawn → ${r.tools} tools in catalog (converged)`, `${f(r.convergedSeconds, 2)} s`, '≤ 10 s', mark(r.targetsMet.converged)],
    ['gateway CPU time until converged (share of the wall time)', `${f(r.gatewayCpuToConvergeMs, 0)} ms (${f((r.gatewayCpuToConvergeMs / 10 / r.convergedSeconds), 0)} %)`, '', ''],
    ['gateway RSS after convergence (peak)', `${f(r.rssMiB, 1)} MiB (${f(r.peakRssMiB, 1)})`, '≤ 300 MB', mark(r.targetsMet.rss)],
    ['gateway RSS after the idle window', `${f(r.rssAfterIdleMiB, 1)} MiB`, '', ''],
    ['TCP connections gateway → Consul HTTP (converged / after idle)', `${r.consulConnections} / ${r.consulConnectionsAfterIdle}`, '≤ 3', mark(r.targetsMet.connections)],
    ['all ESTABLISHED TCP sockets of the gateway', String(r.establishedSockets), '', ''],
    [`gateway CPU over ${f(r.idleWindowSeconds, 1)} s idle`, `${f(r.idleCpuMs, 1)} ms (${f(r.idleCpuPercent, 3)} % of a core)`, '~0', mark(r.targetsMet.idleCpu)],
    ['  of which, by thread', Object.entries(r.idleCpuByThread).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ') || 'none', '', ''],
    ['tools/list through the gateway', `${r.listToolsCount} tools (${r.listToolsPages} page${r.listToolsPages === 1 ? '' : 's'}) in ${f(r.listToolsMs, 1)} ms`, '', ''],
    ['a call to one of them', r.sampleCallOk ? 'ok' : 'FAILED', '', ''],
  ], ['l', 'r', 'r', 'l']));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The Consul agent's pid, found by the HTTP port it was started with (for BENCH_PRIORITY). */
async function consulPidOf(port: number): Promise<number | undefined> {
  if (benchPriority === undefined) return undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('consul') && cmdline.split('\0').includes(String(port))) return Number(entry);
  }
  return undefined;
}

async function consulVersion(addr: string): Promise<string> {
  try {
    const self = (await (await fetch(`${addr}/v1/agent/self`)).json()) as { Config?: { Version?: string } };
    return self.Config?.Version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  for (const a of asked) {
    if (!(SECTIONS as readonly string[]).includes(a)) {
      process.stderr.write(`usage: node dist/bench/run.js [${SECTIONS.join('|')}]...\n`);
      process.exit(2);
    }
  }
  const selected: Section[] = asked.length ? SECTIONS.filter((s) => asked.includes(s)) : [...SECTIONS];
  let stored: Record<string, unknown> = {};
  try {
    stored = JSON.parse(await readFile(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run
  }
  const sdk = JSON.parse(await readFile(fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url)), 'utf8').catch(() => '{}')) as { version?: string };
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, sdk: sdk.version ?? 'unknown' };
  applyPriority(process.pid);
  const out: Record<string, unknown> = { ...stored, machine, quick, priority: benchPriority ?? 0 };
  const save = async (): Promise<void> => writeFile(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`mcp-gateway benchmark — ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, MCP SDK ${machine.sdk}${quick ? ' (BENCH_QUICK: short runs, not for reporting)' : ''}${benchPriority !== undefined ? ` (bench processes at priority ${benchPriority})` : ''}\n`);

  const started = performance.now();
  let consul: ConsulAgent | undefined;
  try {
    if (selected.includes('calls')) {
      const calls = await runCalls(CALLS);
      out.calls = { ranAt: new Date().toISOString(), ...calls };
      await save();
      printCalls(calls);
    }
    if (selected.includes('hotadd') || selected.includes('scale')) {
      progress('starting a Consul dev agent');
      consul = await startConsul();
      const consulPid = await consulPidOf(consul.port);
      if (consulPid) applyPriority(consulPid);
      const version = await consulVersion(consul.addr);
      progress(`consul ${version} at ${consul.addr}`);
      out.consulVersion = version;
    }
    if (selected.includes('hotadd') && consul) {
      progress(`hotadd: ${HOTADD.runs} runs (+${HOTADD.warmupRuns} warm-up)`);
      const hot = await runHotAdd(consul.addr, HOTADD);
      out.hotadd = { ranAt: new Date().toISOString(), ...hot };
      await save();
      printHotAdd(hot);
    }
    if (selected.includes('scale') && consul) {
      const scale = await runScale({ addr: consul.addr, port: consul.port }, SCALE);
      out.scale = { ranAt: new Date().toISOString(), options: SCALE, ...scale };
      await save();
      printScale(scale);
    }
  } finally {
    await consul?.stop();
  }
  process.stdout.write(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s; figures in ${quick ? RESULTS : 'bench/results.json'}\n`);
}

// The SDK client transport's fetches each add an abort listener to one long-lived signal, and
// undici removes them only when the request is collected: at c16 the count passes Node's
// warning threshold. Harmless here, and the same for direct and gateway runs.
setMaxListeners(0);
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
main().then(() => process.exit(0), (error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
