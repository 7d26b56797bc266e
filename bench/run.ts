// `npm run bench`: the gateway's benchmark (issue 2). Sections: calls (overhead of one hop),
// hotadd (Consul check passing -> tools listed and list_changed sent), scale (1,000 services
// x 5 tools). `node dist/bench/run.js [calls] [hotadd] [scale]` runs a subset. The table goes
// to stdout, progress to stderr, figures to bench/results.json (sections not run are kept
// from the previous file, each with its own timestamp).
import { setMaxListeners } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startConsul, type ConsulAgent } from '../test/fixtures/consul.js';
import { runCalls, type CallsOptions, type CallsResult } from './calls.js';
import { runHotAdd, type HotAddResult, type Spread } from './hotadd.js';
import { progress } from './lib.js';
import { runScale, type ScaleOptions, type ScaleResult } from './scale.js';

const SECTIONS = ['calls', 'hotadd', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

const quick = process.env.BENCH_QUICK === '1';

const CALLS: CallsOptions = quick
  ? { rounds: 1, warmupCalls: 100, latencyCalls: 300, concurrency: 16, throughputMs: 1000, throughputWarmupMs: 200, sseLatencyCalls: 200, sseThroughputMs: 500 }
  : { rounds: 3, warmupCalls: 300, latencyCalls: 2000, concurrency: 16, throughputMs: 4000, throughputWarmupMs: 500, sseLatencyCalls: 1000, sseThroughputMs: 2000 };
const HOTADD = { runs: quick ? 5 : 20, warmupRuns: 1 };
const SCALE: ScaleOptions = { services: 1000, toolsPerService: 5, registerConcurrency: 16, idleMs: Number(process.env.BENCH_SCALE_IDLE_MS ?? (quick ? 3000 : 10_000)), convergeTimeoutMs: 60_000 };

const RESULTS = fileURLToPath(new URL('../../bench/results.json', import.meta.url));

const mark = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
const f = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

function printCalls(result: CallsResult): void {
  const o = result.options;
  const lines: string[] = [];
  lines.push(`\n== 1. Call overhead: echo tool, SDK client, median of ${o.rounds} alternating rounds ==`);
  lines.push(`   c1: ${o.latencyCalls} calls after ${o.warmupCalls} warm-up (SSE: ${o.sseLatencyCalls});  c${o.concurrency}: ${o.throughputMs / 1000} s after ${o.throughputWarmupMs} ms warm-up (SSE: ${o.sseThroughputMs / 1000} s)`);
  lines.push('   backend, gateway and this load client are separate processes sharing 2 cores\n');
  const rows: string[][] = [['backend', 'target', 'p50 ms', 'p99 ms', `c${o.concurrency} calls/s`, `c${o.concurrency} p50 ms`, 'p50 ×direct', 'tput ×direct', 'CPU µs/call cli/backend/gw', 'errors']];
  for (const t of result.targets) {
    rows.push([
      t.group === 'json' ? 'JSON' : 'SSE', t.label, f(t.p50), f(t.p99), f(t.rps, 0), f(t.c16p50),
      t.p50Ratio === null ? '1.00' : f(t.p50Ratio, 2), t.rpsRatio === null ? '1.00' : f(t.rpsRatio, 2),
      `${f(t.cpuClientUs, 0)} / ${f(t.cpuBackendUs, 0)} / ${f(t.cpuGatewayUs, 0)}`, String(t.errors),
    ]);
  }
  lines.push(table(rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  const main = result.targets.find((t) => t.key === 'json-gateway')!;
  const logged = result.targets.find((t) => t.key === 'json-gateway-log')!;
  lines.push(`\n   per-round ratios (JSON, log warn): p50 ${main.p50RatioRounds.join(', ')}; throughput ${main.rpsRatioRounds.join(', ')}`);
  lines.push(`   per-round ratios (JSON, log info): p50 ${logged.p50RatioRounds.join(', ')}; throughput ${logged.rpsRatioRounds.join(', ')}`);
  lines.push(`   target p50 ratio ≤ 1.40: ${f(main.p50Ratio, 2)} ${mark(result.targetsMet.p50Ratio)} (with request log: ${f(logged.p50Ratio, 2)} ${mark((logged.p50Ratio ?? 9) <= 1.4)})`);
  lines.push(`   target throughput ratio ≥ 0.70: ${f(main.rpsRatio, 2)} ${mark(result.targetsMet.rpsRatio)} (with request log: ${f(logged.rpsRatio, 2)} ${mark((logged.rpsRatio ?? 0) >= 0.7)})`);
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
    ['gateway CPU time until converged', `${f(r.gatewayCpuToConvergeMs, 0)} ms`, '', ''],
    ['gateway RSS after convergence (peak)', `${f(r.rssMiB, 1)} MiB (${f(r.peakRssMiB, 1)})`, '≤ 300 MB', mark(r.targetsMet.rss)],
    ['gateway RSS after the idle window', `${f(r.rssAfterIdleMiB, 1)} MiB`, '', ''],
    ['TCP connections gateway → Consul HTTP (converged / after idle)', `${r.consulConnections} / ${r.consulConnectionsAfterIdle}`, '≤ 3', mark(r.targetsMet.connections)],
    ['all ESTABLISHED TCP sockets of the gateway', String(r.establishedSockets), '', ''],
    [`gateway CPU over ${f(r.idleWindowSeconds, 1)} s idle`, `${f(r.idleCpuMs, 1)} ms (${f(r.idleCpuPercent, 3)} % of a core)`, '~0', mark(r.targetsMet.idleCpu)],
    ['  of which, by thread', Object.entries(r.idleCpuByThread).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ') || 'none', '', ''],
    ['tools/list through the gateway', `${r.listToolsCount} tools in ${f(r.listToolsMs, 1)} ms`, '', ''],
    ['a call to one of them', r.sampleCallOk ? 'ok' : 'FAILED', '', ''],
  ], ['l', 'r', 'r', 'l']));
  process.stdout.write(`${lines.join('\n')}\n`);
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
  const out: Record<string, unknown> = { ...stored, machine, quick };
  const save = async (): Promise<void> => writeFile(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`mcp-gateway benchmark — ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, MCP SDK ${machine.sdk}${quick ? ' (BENCH_QUICK: short runs, not for reporting)' : ''}\n`);

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
  process.stdout.write(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s; figures in bench/results.json\n`);
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
