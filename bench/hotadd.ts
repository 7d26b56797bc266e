// Hot-add latency: a gateway watching a real Consul agent, an MCP client session listening for
// notifications/tools/list_changed. Each run registers a fresh service whose TTL check starts
// critical, waits until the gateway has seen it (unhealthy, so no tools), then passes the
// check and times, from the moment the pass call returns: the healthy instance reaching the
// gateway's discovery, its tools reaching the catalog, and the client getting list_changed.
// Deregistration is timed the same way (hot-remove). The gateway runs in this process so the
// catalog moment is observed exactly (a subscriber), not by polling.
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig } from '../src/config/load.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { startBackend } from '../test/fixtures/backend.js';
import { deregisterInstance, passCheck, registerInstance } from '../test/fixtures/consul-api.js';
import { percentile, progress, round, until } from './lib.js';

export interface HotAddOptions {
  runs: number;
  /** Discarded first runs (connections, JIT). */
  warmupRuns: number;
}

export interface Spread {
  p50: number;
  p90: number;
  min: number;
  max: number;
}

export interface HotAddResult {
  runs: number;
  /** ms from the pass call returning. */
  passToDiscovery: Spread;
  passToCatalog: Spread;
  passToListChanged: Spread;
  /** ms from the deregister call returning. */
  deregisterToCatalog: Spread;
  deregisterToListChanged: Spread;
  samples: { passToDiscovery: number[]; passToCatalog: number[]; passToListChanged: number[]; deregisterToCatalog: number[]; deregisterToListChanged: number[] };
  gatewayWarnings: string[];
  targetMet: boolean;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50), 1),
    p90: round(percentile(sorted, 90), 1),
    min: round(sorted[0] ?? Number.NaN, 1),
    max: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
  };
}

interface Marks {
  service: string;
  tool: string;
  wantPresent: boolean;
  discovery?: number;
  catalog?: number;
  notified?: number;
}

export async function runHotAdd(consulAddr: string, opts: HotAddOptions): Promise<HotAddResult> {
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line && !line.includes('no auth section') && warnings.length < 50) warnings.push(line);
      done();
    },
  });
  const backend = await startBackend({ tools: [{ name: 'echo', description: 'Echoes its arguments back.' }], jsonResponse: true, name: 'hot-backend' });
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0, drainSeconds: 1 },
    discovery: { consul: { address: consulAddr, register: false } },
    logging: { level: 'warn' },
  });
  const gateway = new Gateway({ config, log: createLogger('warn', sink), env: {} });
  let marks: Marks | undefined;
  const client = new Client({ name: 'bench-hotadd', version: '1.0.0' });
  try {
    await gateway.start();
    await gateway.discovery.whenReady();
    gateway.discovery.subscribe((backends) => {
      if (!marks || marks.discovery !== undefined) return;
      const healthy = backends.some((b) => b.service === marks!.service && b.instances.some((i) => i.healthy));
      if (healthy === marks.wantPresent) marks.discovery = performance.now();
    });
    gateway.catalog.subscribe((next) => {
      if (marks && marks.catalog === undefined && next.routes.has(marks.tool) === marks.wantPresent) marks.catalog = performance.now();
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (marks && marks.notified === undefined) marks.notified = performance.now();
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    // The SDK client opens its GET stream (where list_changed arrives) after initialization.
    await sleep(300);

    const samples: HotAddResult['samples'] = { passToDiscovery: [], passToCatalog: [], passToListChanged: [], deregisterToCatalog: [], deregisterToListChanged: [] };
    const tag = Math.random().toString(36).slice(2, 7);
    for (let run = 0; run < opts.warmupRuns + opts.runs; run++) {
      const measured = run >= opts.warmupRuns;
      const service = `hot-${tag}-${run}`;
      const id = `${service}-1`;
      const tool = `${service}__echo`;
      await registerInstance(consulAddr, { name: service, id, port: backend.port, meta: { mcp_path: '/mcp' } });
      await until(`the gateway to see ${service} (critical)`, async () =>
        gateway.discovery.backends.some((b) => b.service === service) ? true : undefined, 5000, 5);
      // Out of the watch loop's 50 ms rate-limit window: time the check, not the registration.
      await sleep(100 + Math.random() * 50);

      marks = { service, tool, wantPresent: true };
      await passCheck(consulAddr, id);
      const passed = performance.now();
      const add = marks;
      await until(`${tool} in the catalog and list_changed`, async () => (add.catalog !== undefined && add.notified !== undefined ? true : undefined), 10_000, 1);
      await sleep(50);

      marks = { service, tool, wantPresent: false };
      await deregisterInstance(consulAddr, id);
      const removed = performance.now();
      const remove = marks;
      await until(`${tool} gone and list_changed`, async () => (remove.catalog !== undefined && remove.notified !== undefined ? true : undefined), 10_000, 1);
      marks = undefined;
      if (measured) {
        samples.passToDiscovery.push(add.discovery! - passed);
        samples.passToCatalog.push(add.catalog! - passed);
        samples.passToListChanged.push(add.notified! - passed);
        samples.deregisterToCatalog.push(remove.catalog! - removed);
        samples.deregisterToListChanged.push(remove.notified! - removed);
        progress(`hotadd: run ${run - opts.warmupRuns + 1}/${opts.runs}: pass→catalog ${(add.catalog! - passed).toFixed(1)} ms, pass→list_changed ${(add.notified! - passed).toFixed(1)} ms; deregister→gone ${(remove.catalog! - removed).toFixed(1)} ms`);
      }
      await sleep(50);
    }
    const result: HotAddResult = {
      runs: opts.runs,
      passToDiscovery: spread(samples.passToDiscovery),
      passToCatalog: spread(samples.passToCatalog),
      passToListChanged: spread(samples.passToListChanged),
      deregisterToCatalog: spread(samples.deregisterToCatalog),
      deregisterToListChanged: spread(samples.deregisterToListChanged),
      samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x, 2))])) as HotAddResult['samples'],
      gatewayWarnings: warnings,
      targetMet: false,
    };
    result.targetMet = result.passToCatalog.p50 <= 150 && result.passToListChanged.p50 <= 150;
    return result;
  } finally {
    await client.close().catch(() => undefined);
    await gateway.close();
    await backend.close();
  }
}
