// Call overhead: an echo tool called directly on an SDK backend and through the gateway, with
// the same SDK client, in the same run. Backends and gateways are child processes (the load
// client is this process), so each has its own event loop, as in production; all share the
// machine's cores. Rounds alternate the targets in rotating order and the medians are reported.
//
// Three more gateways run in the same JSON rounds, each differing from the plain one (log warn)
// by one feature, to price it per call (issues 3 and 4): API key auth (a random key made for
// this run, only its sha256 in the config, never printed), rate limits in a redis-server that
// the bench starts, and the same limits in-process. Their rule is so large that nothing is
// refused but every call consumes a point; Redis's own count of limiter scripts run (EVALSHA)
// checks that each call really went to Redis (not to the insurance limiter). Each is compared with the plain gateway
// round by round (ms added at p50, throughput ratio) as well as with direct.
//
// A reference row, the floor: a bare Node proxy (HTTP server + undici Pool, bytes forwarded
// and nothing else) in front of the same backend, to show what any Node hop costs here.
import { createHash, randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Redis } from 'ioredis';
import { freePort } from '../test/fixtures/free-port.js';
import { startRedis, type RedisServer } from '../test/fixtures/redis.js';
import { cpuMs, distPath, machineBusyMs, median, percentile, progress, readyLine, round, spawnNode, until, type Child } from './lib.js';

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
  /** Longest wait for a quiet machine (other processes under 15 % of it) before each run. */
  quietWaitMs: number;
  /** The feature variants (auth, limits) get shorter runs, in the same rounds as the rest. */
  variantLatencyCalls: number;
  variantThroughputMs: number;
}

interface Target {
  key: string;
  label: string;
  group: 'json' | 'sse';
  url: string;
  tool: string;
  /** Process whose CPU time is the hop under test (gateway), if any. */
  hop: Child | undefined;
  /** Sent with every request (the API key variant). */
  headers?: Record<string, string>;
  /** A feature variant: compared with this target (the plain gateway) too, and given shorter runs. */
  baseline?: string;
  /** A reference row (the bare proxy): given the feature variants' shorter runs. */
  short?: boolean;
  /** Its limits live in this Redis: count Redis commands per call and Redis CPU. */
  redis?: RedisProbe;
  client?: Client;
}

/** The bench's own look at the Redis the limiter uses. */
interface RedisProbe {
  pid: number;
  /** Lua scripts Redis has run so far (EVAL + EVALSHA): one per consume of rate-limiter-flexible. */
  scripts(): Promise<number>;
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
  /** Redis CPU µs per call at concurrency 16 (Redis-backed limits only). */
  cpuRedisUs: number | null;
  /** Limiter scripts (EVALSHA) Redis ran per call over the whole run, warm-ups included (Redis-backed limits only). */
  redisScriptsPerCall: number | null;
  errors: number;
  /** CPU that other processes of the machine used during this run, % of all cores. */
  foreignCpuPercent: number;
}

export interface TargetResult extends Omit<RunFigures, 'cpuGatewayUs' | 'foreignCpuPercent'> {
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
  /** Feature variants against the plain gateway of the same rounds: medians of per-round figures. */
  vsGateway: VsGateway | null;
}

export interface VsGateway {
  baseline: string;
  /** Variant p50 minus plain gateway p50, ms (c1). */
  p50AddedMs: number;
  /** Variant c16 throughput / plain gateway c16 throughput. */
  rpsRatio: number;
  p50AddedMsRounds: number[];
  rpsRatioRounds: number[];
}

export interface FeatureCosts {
  /** ms added at p50 and throughput ratio, each against the plain gateway (null: not measured). */
  auth: { p50AddedMs: number; rpsRatio: number } | null;
  redisLimits: { p50AddedMs: number; rpsRatio: number; redisScriptsPerCall: number | null; cpuRedisUs: number | null } | null;
  memoryLimits: { p50AddedMs: number; rpsRatio: number } | null;
  /** Issue 4: Redis limits add < 0.3 ms at p50 and keep ≥ 0.90 of the limits-off throughput. */
  targetsMet: { redisP50: boolean; redisRps: boolean };
  /** Requests the Redis gateway limited in-process because Redis was away (should be 0). */
  redisFallbackRequests: number | null;
  /** Whether the API key showed up anywhere in the captured output of the bench's children. */
  apiKeyInOutput: boolean;
}

export interface CallsResult {
  options: CallsOptions;
  targets: TargetResult[];
  targetsMet: { p50Ratio: boolean; rpsRatio: boolean };
  features: FeatureCosts;
  /** CPU that processes other than the bench's own used during the measured rounds, % of the machine. */
  foreignCpuPercent: number;
  seconds: number;
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
export async function spawnGateway(label: string, config: Record<string, unknown>, opts: { stdoutToNull: boolean }): Promise<{ child: Child; url: string; port: number; configPath: string }> {
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
  return { child, url: `http://127.0.0.1:${port}`, port, configPath };
}

/** Polls /readyz until it answers 200 with at least `tools` tools; `onAnswer` sees every answer. */
export async function waitGatewayTools(gateway: { child: Child; url: string; configPath?: string }, tools: number, timeoutMs: number, everyMs = 25, onAnswer?: (status: number, tools: number) => void): Promise<void> {
  let answered = false;
  await until(`${gateway.child.label} ready with ${tools} tools`, async () => {
    if (!gateway.child.alive()) throw new Error(`${gateway.child.label} exited:\n${gateway.child.tail()}`);
    const res = await fetch(`${gateway.url}/readyz`);
    // The gateway has read its config file once it answers: the temp file can go.
    if (!answered && gateway.configPath) void unlink(gateway.configPath).catch(() => undefined);
    answered = true;
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

async function connect(url: string, headers?: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'bench-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
  return client;
}

/** Calls made so far (every target), for Redis commands per call. */
let callsMade = 0;

async function callOnce(client: Client, tool: string): Promise<boolean> {
  callsMade += 1;
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

async function throughputRun(target: Target, backend: Child, opts: CallsOptions, ms: number): Promise<Pick<RunFigures, 'rps' | 'c16p50' | 'c16p99' | 'cpuClientUs' | 'cpuBackendUs' | 'cpuGatewayUs' | 'cpuRedisUs' | 'errors'>> {
  const client = target.client!;
  await loadFor(client, target.tool, opts.concurrency, opts.throughputWarmupMs);
  const clientBefore = process.cpuUsage();
  const backendBefore = await cpuMs(backend.pid);
  const hopBefore = target.hop ? await cpuMs(target.hop.pid) : 0;
  const redisBefore = target.redis ? await cpuMs(target.redis.pid) : 0;
  const run = await loadFor(client, target.tool, opts.concurrency, ms);
  const clientCpu = process.cpuUsage(clientBefore);
  const backendCpu = (await cpuMs(backend.pid)) - backendBefore;
  const hopCpu = target.hop ? (await cpuMs(target.hop.pid)) - hopBefore : 0;
  const redisCpu = target.redis ? (await cpuMs(target.redis.pid)) - redisBefore : 0;
  run.samples.sort((a, b) => a - b);
  const perCall = (ms: number): number => (ms * 1000) / run.calls;
  return {
    rps: (run.calls / run.elapsedMs) * 1000,
    c16p50: percentile(run.samples, 50),
    c16p99: percentile(run.samples, 99),
    cpuClientUs: perCall((clientCpu.user + clientCpu.system) / 1000),
    cpuBackendUs: perCall(backendCpu),
    cpuGatewayUs: target.hop ? perCall(hopCpu) : null,
    cpuRedisUs: target.redis ? perCall(redisCpu) : null,
    errors: run.errors,
  };
}

/** One integer field of a Redis INFO section. */
function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  if (!match) throw new Error(`redis INFO has no ${field}`);
  return Number(match[1]);
}

/** A metric of the gateway's /metrics summed over its labels, or null when it is absent. */
async function metricSum(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function runCalls(opts: CallsOptions): Promise<CallsResult> {
  // A key for this run only: the gateway's config holds its sha256, the client sends it, and
  // nothing prints it (an error that might quote it is redacted on the way out).
  const apiKey = `mgw_bench_${randomBytes(24).toString('base64url')}`;
  try {
    return await measure(opts, apiKey);
  } catch (error) {
    const e = error as Error;
    e.message = e.message.split(apiKey).join('<api key>');
    if (e.stack) e.stack = e.stack.split(apiKey).join('<api key>');
    throw e;
  }
}

async function measure(opts: CallsOptions, apiKey: string): Promise<CallsResult> {
  progress('calls: starting the echo backends (JSON and SSE) in a child process');
  const backend = spawnNode('echo-backends', distPath('./echo-backends.js'), []);
  const urls = await backend.waitLine((line) => readyLine<{ json: string; sse: string }>(line));
  const gateways: Child[] = [];
  const clients: Client[] = [];
  let redis: RedisServer | undefined;
  let redisClient: Redis | undefined;
  try {
    const staticBackends = [{ prefix: 'j', url: urls.json }, { prefix: 's', url: urls.sse }];
    progress('calls: starting gateway A (logging.level warn) and gateway B (info, request log to /dev/null)');
    const quiet = await startGatewayChild('gw-warn', { discovery: { static: staticBackends }, logging: { level: 'warn' } }, { stdoutToNull: false, tools: 2 });
    gateways.push(quiet.child);
    const logged = await startGatewayChild('gw-info', { discovery: { static: staticBackends }, logging: { level: 'info' } }, { stdoutToNull: true, tools: 2 });
    gateways.push(logged.child);

    progress('calls: starting a redis-server (REDIS_BIN or PATH) for the Redis-backed limits');
    try {
      redis = await startRedis();
    } catch (error) {
      throw new Error(`calls: cannot start redis-server (set REDIS_BIN or put it on PATH, e.g. with bash scripts/setup-services.sh): ${(error as Error).message}`);
    }
    const rc = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redisClient = rc;
    await rc.connect();
    const probe: RedisProbe = {
      pid: infoField(await rc.info('server'), 'process_id'),
      scripts: async () => {
        const stats = await rc.info('commandstats');
        let calls = 0;
        for (const match of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(match[1]);
        return calls;
      },
    };

    progress('calls: starting gateways with API key auth, Redis limits and in-process limits (all logging.level warn)');
    // Large enough that nothing is refused, yet every tools/call consumes a point.
    const everyCall = { points: 1_000_000_000, duration: 60 };
    const plain = { discovery: { static: staticBackends }, logging: { level: 'warn' } };
    const keyHash = `sha256:${createHash('sha256').update(apiKey, 'utf8').digest('hex')}`;
    const authed = await startGatewayChild('gw-auth', { ...plain, auth: { apiKeys: [{ id: 'bench', key: keyHash }] } }, { stdoutToNull: false, tools: 2 });
    gateways.push(authed.child);
    const redisLimited = await startGatewayChild('gw-redis-limits', { ...plain, rateLimit: { redis: redis.url, default: everyCall } }, { stdoutToNull: false, tools: 2 });
    gateways.push(redisLimited.child);
    const memoryLimited = await startGatewayChild('gw-memory-limits', { ...plain, rateLimit: { default: everyCall } }, { stdoutToNull: false, tools: 2 });
    gateways.push(memoryLimited.child);
    // Measure Redis-backed limits only once the gateway's Redis connection is up (not the insurance limiter).
    await until('gw-redis-limits connected to redis', async () => ((await metricSum(redisLimited.url, 'mcpgw_ratelimit_redis_fallback')) === 0 ? true : undefined), 10_000);

    progress('calls: starting the bare Node proxy (the floor of a Node hop, for reference)');
    const bare = spawnNode('bare-proxy', distPath('./bare-proxy.js'), [urls.json]);
    gateways.push(bare);
    const bareUrl = (await bare.waitLine((line) => readyLine<{ url: string }>(line))).url;

    const targets: Target[] = [
      { key: 'json-direct', label: 'direct', group: 'json', url: urls.json, tool: 'echo', hop: undefined },
      { key: 'json-gateway', label: 'gateway (log warn)', group: 'json', url: `${quiet.url}/mcp`, tool: 'j__echo', hop: quiet.child },
      { key: 'json-gateway-log', label: 'gateway (log info > /dev/null)', group: 'json', url: `${logged.url}/mcp`, tool: 'j__echo', hop: logged.child },
      { key: 'json-gateway-auth', label: 'gateway + API key auth', group: 'json', url: `${authed.url}/mcp`, tool: 'j__echo', hop: authed.child, headers: { Authorization: `Bearer ${apiKey}` }, baseline: 'json-gateway' },
      { key: 'json-gateway-redis-limits', label: 'gateway + Redis limits', group: 'json', url: `${redisLimited.url}/mcp`, tool: 'j__echo', hop: redisLimited.child, redis: probe, baseline: 'json-gateway' },
      { key: 'json-gateway-memory-limits', label: 'gateway + in-process limits', group: 'json', url: `${memoryLimited.url}/mcp`, tool: 'j__echo', hop: memoryLimited.child, baseline: 'json-gateway' },
      { key: 'json-floor', label: 'floor: bare Node proxy, no MCP', group: 'json', url: bareUrl, tool: 'echo', hop: bare, short: true },
      { key: 'sse-direct', label: 'direct', group: 'sse', url: urls.sse, tool: 'echo', hop: undefined },
      { key: 'sse-gateway', label: 'gateway (log warn)', group: 'sse', url: `${quiet.url}/mcp`, tool: 's__echo', hop: quiet.child },
    ];
    for (const target of targets) {
      target.client = await connect(target.url, target.headers);
      clients.push(target.client);
      if (!(await callOnce(target.client, target.tool))) throw new Error(`calls: ${target.key}: a first call of ${target.tool} failed`);
    }

    // Other sessions may share this machine: measure what they use (all CPU minus this
    // process, the backend, the gateways and Redis), and before each run wait a little for a quiet moment.
    const ours = async (): Promise<number> => {
      const self = process.cpuUsage();
      let total = (self.user + self.system) / 1000;
      for (const pid of [backend.pid, ...gateways.map((g) => g.pid), probe.pid]) total += await cpuMs(pid);
      return total;
    };
    const mark = async (): Promise<{ t: number; machine: number; ours: number }> => ({ t: performance.now(), machine: await machineBusyMs(), ours: await ours() });
    const foreignSince = async (from: { t: number; machine: number; ours: number }): Promise<number> => {
      const now = await mark();
      const foreign = now.machine - from.machine - (now.ours - from.ours);
      return Math.max(0, (foreign / ((now.t - from.t) * cpus().length)) * 100);
    };
    const waitQuiet = async (): Promise<void> => {
      const deadline = performance.now() + opts.quietWaitMs;
      for (;;) {
        const from = await mark();
        await sleep(250);
        if ((await foreignSince(from)) < 15 || performance.now() > deadline) return;
      }
    };
    // Warm every process (this load client included) before the first round: otherwise the
    // first target of round 1 pays the JIT warm-up of the client and reads slow.
    progress('calls: warming up every target (1,000 calls and a short c16 burst each)');
    for (const target of targets) {
      for (let i = 0; i < 1000; i++) await callOnce(target.client!, target.tool);
      await loadFor(target.client!, target.tool, opts.concurrency, opts.throughputWarmupMs);
    }
    const started = await mark();
    const figures = new Map<string, RunFigures[]>(targets.map((t) => [t.key, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const group of ['json', 'sse'] as const) {
        const inGroup = targets.filter((t) => t.group === group);
        // Rotate the order each round so no target always runs first (or right after another).
        const order = inGroup.map((_, i) => inGroup[(i + r) % inGroup.length]!);
        for (const target of order) {
          const latencyCalls = target.baseline || target.short ? opts.variantLatencyCalls : group === 'json' ? opts.latencyCalls : opts.sseLatencyCalls;
          const throughputMs = target.baseline || target.short ? opts.variantThroughputMs : group === 'json' ? opts.throughputMs : opts.sseThroughputMs;
          await waitQuiet();
          const from = await mark();
          const redisFrom = target.redis ? { calls: callsMade, scripts: await target.redis.scripts() } : undefined;
          const lat = await latencyRun(target.client!, target.tool, opts.warmupCalls, latencyCalls);
          const tput = await throughputRun(target, backend, opts, throughputMs);
          const redisScriptsPerCall = target.redis && redisFrom ? round(((await target.redis.scripts()) - redisFrom.scripts) / (callsMade - redisFrom.calls), 3) : null;
          const run: RunFigures = { ...lat, ...tput, redisScriptsPerCall, errors: lat.errors + tput.errors, foreignCpuPercent: round(await foreignSince(from), 1) };
          figures.get(target.key)!.push(run);
          progress(`calls: round ${r + 1}/${opts.rounds} ${group} ${target.label.padEnd(31)} p50 ${run.p50.toFixed(3)} ms  p99 ${run.p99.toFixed(3)} ms  c${opts.concurrency} ${run.rps.toFixed(0)} calls/s  (other load ${run.foreignCpuPercent.toFixed(0)} %)${redisScriptsPerCall !== null ? `  redis ${redisScriptsPerCall.toFixed(2)} EVALSHA/call` : ''}${run.errors ? `  ERRORS ${run.errors}` : ''}`);
        }
      }
    }

    const seconds = (performance.now() - started.t) / 1000;
    const foreignCpuPercent = round(await foreignSince(started), 1);
    const results: TargetResult[] = targets.map((target) => {
      const runs = figures.get(target.key)!;
      const direct = figures.get(`${target.group}-direct`)!;
      const med = (pick: (f: RunFigures) => number): number => round(median(runs.map(pick)), 4);
      const p50Rounds = runs.map((f, i) => round(f.p50 / direct[i]!.p50, 3));
      const rpsRounds = runs.map((f, i) => round(f.rps / direct[i]!.rps, 3));
      const isDirect = target.key.endsWith('-direct');
      const base = target.baseline ? figures.get(target.baseline)! : undefined;
      const addedRounds = base ? runs.map((f, i) => round(f.p50 - base[i]!.p50, 4)) : [];
      const rpsVsRounds = base ? runs.map((f, i) => round(f.rps / base[i]!.rps, 3)) : [];
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
        cpuRedisUs: target.redis ? round(median(runs.map((f) => f.cpuRedisUs ?? 0)), 0) : null,
        redisScriptsPerCall: target.redis ? round(median(runs.map((f) => f.redisScriptsPerCall ?? 0)), 3) : null,
        errors: runs.reduce((a, f) => a + f.errors, 0),
        rounds: runs,
        p50Ratio: isDirect ? null : round(median(p50Rounds), 3),
        rpsRatio: isDirect ? null : round(median(rpsRounds), 3),
        p50RatioRounds: isDirect ? [] : p50Rounds,
        rpsRatioRounds: isDirect ? [] : rpsRounds,
        vsGateway: base ? {
          baseline: target.baseline!,
          p50AddedMs: round(median(addedRounds), 4),
          rpsRatio: round(median(rpsVsRounds), 3),
          p50AddedMsRounds: addedRounds,
          rpsRatioRounds: rpsVsRounds,
        } : null,
      };
    });

    const redisFallbackRequests = await metricSum(redisLimited.url, 'mcpgw_ratelimit_fallback_requests_total').catch(() => null);
    const apiKeyInOutput = [backend, ...gateways].some((child) => child.tail(Number.MAX_SAFE_INTEGER).includes(apiKey));
    const find = (key: string): TargetResult | undefined => results.find((t) => t.key === key);
    const cost = (t: TargetResult | undefined): { p50AddedMs: number; rpsRatio: number } | null => (t?.vsGateway ? { p50AddedMs: t.vsGateway.p50AddedMs, rpsRatio: t.vsGateway.rpsRatio } : null);
    const redisTarget = find('json-gateway-redis-limits');
    const redisCost = cost(redisTarget);
    const features: FeatureCosts = {
      auth: cost(find('json-gateway-auth')),
      redisLimits: redisCost ? { ...redisCost, redisScriptsPerCall: redisTarget?.redisScriptsPerCall ?? null, cpuRedisUs: redisTarget?.cpuRedisUs ?? null } : null,
      memoryLimits: cost(find('json-gateway-memory-limits')),
      targetsMet: { redisP50: (redisCost?.p50AddedMs ?? Infinity) < 0.3, redisRps: (redisCost?.rpsRatio ?? 0) >= 0.9 },
      redisFallbackRequests,
      apiKeyInOutput,
    };
    const main = results.find((t) => t.key === 'json-gateway')!;
    return {
      options: opts,
      targets: results,
      targetsMet: { p50Ratio: (main.p50Ratio ?? Infinity) <= 1.4, rpsRatio: (main.rpsRatio ?? 0) >= 0.7 },
      features,
      foreignCpuPercent,
      seconds: round(seconds, 1),
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await redisClient?.quit().catch(() => redisClient?.disconnect());
    await redis?.stop();
    await backend.stop();
  }
}
