// scripts/fleet.sh, the fleet without Docker: `start` on free ports brings up Consul, Redis,
// two gateways and three backends and waits until Consul reports them all passing; a call
// through each gateway works; `status` shows it; `stop` deregisters everything and leaves no
// process behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { repoRoot } from '../fixtures/child-process.js';
import { freePorts } from '../fixtures/free-port.js';
import { connectClient, textOf } from '../fixtures/gateway.js';

const script = join(repoRoot(), 'scripts/fleet.sh');
const HealthSchema = z.array(z.object({ Service: z.object({ ID: z.string(), Port: z.number() }).loose() }).loose());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** "STATE" of a pid from /proc (Z for a zombie), or undefined when there is no such process. */
async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) processes whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(needle) && (await processState(Number(entry))) !== 'Z') found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('scripts/fleet.sh', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  let ports: Record<string, number>;
  let started: Run | undefined;

  const fleet = async (command: string): Promise<Run> => {
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', [script, command], { env, timeout: 90_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
    }
  };
  const consul = (): string => `http://127.0.0.1:${ports.consul}`;
  const health = async (service: string): Promise<z.infer<typeof HealthSchema>> =>
    HealthSchema.parse(await (await fetch(`${consul()}/v1/health/service/${service}?passing`)).json());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-fleet-'));
    const [c, r, g1, g2, o, h, f] = await freePorts(7);
    ports = { consul: c!, redis: r!, gateway1: g1!, gateway2: g2!, ops: o!, hr: h!, finance: f! };
    env = {
      ...process.env,
      FLEET_DIR: dir,
      FLEET_CONSUL_PORT: String(c), FLEET_REDIS_PORT: String(r),
      FLEET_GATEWAY1_PORT: String(g1), FLEET_GATEWAY2_PORT: String(g2),
      FLEET_OPS_PORT: String(o), FLEET_HR_PORT: String(h), FLEET_FINANCE_PORT: String(f),
      FLEET_TIMEOUT: '40',
    };
  });

  after(async () => {
    // A failed test must not leave the fleet running.
    if (started) await fleet('stop');
    await rm(dir, { recursive: true, force: true });
  });

  it('start: two gateways and three backends passing in Consul\'s catalog', async () => {
    started = await fleet('start');
    const diagnostics = `\n--- stdout ---\n${started.stdout}\n--- stderr ---\n${started.stderr}`;
    assert.equal(started.code, 0, diagnostics);
    const rows = started.stdout.split('\n').filter((line) => /passing/.test(line));
    assert.equal(rows.filter((line) => /^\s+mcp-gateway\s/.test(line)).length, 2, diagnostics);
    for (const name of ['ops', 'hr', 'finance']) assert.equal(rows.filter((line) => new RegExp(`^\\s+${name}\\s`).test(line)).length, 1, diagnostics);

    const gateways = (await health('mcp-gateway')).map((e) => e.Service.Port).sort((a, b) => a - b);
    assert.deepEqual(gateways, [ports.gateway1!, ports.gateway2!].sort((a, b) => a - b));
    for (const name of ['ops', 'hr', 'finance']) {
      assert.deepEqual((await health(name)).map((e) => e.Service.Port), [ports[name]], name);
    }
  });

  it('a call through each gateway reaches every team', async () => {
    assert.equal(started?.code, 0, 'start succeeded');
    for (const port of [ports.gateway1, ports.gateway2]) {
      const client = await connectClient(`http://127.0.0.1:${port}/mcp`);
      const ops = await client.client.callTool({ name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } });
      assert.match(textOf(ops), /노트북/, `ops via :${port}`);
      const hr = await client.client.callTool({ name: 'hr__search_policy', arguments: { query: '휴가' } });
      assert.notEqual(hr.isError, true, textOf(hr));
      const fin = await client.client.callTool({ name: 'fin__calculate_budget', arguments: { department: '운영팀', months: 6 } });
      assert.notEqual(fin.isError, true, textOf(fin));
      await client.close();
    }
  });

  it('status: every process running and every service passing', async () => {
    const status = await fleet('status');
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);
    assert.equal((status.stdout.match(/ running \(pid \d+\)/g) ?? []).length, 7, status.stdout);
    assert.equal((status.stdout.match(/passing/g) ?? []).length, 5, status.stdout);
  });

  it('stop: backends and gateways deregister, then Consul and every other process is gone', async () => {
    const pidFiles = (await readdir(join(dir, 'run'))).filter((f) => f.endsWith('.pid'));
    assert.equal(pidFiles.length, 7, pidFiles.join(' '));
    const pids = await Promise.all(pidFiles.map(async (f) => Number(await readFile(join(dir, 'run', f), 'utf8'))));

    const stopped = await fleet('stop');
    started = undefined;
    assert.equal(stopped.code, 0, `${stopped.stdout}\n${stopped.stderr}`);
    for (const name of ['mcp-gateway', 'ops', 'hr', 'finance']) {
      assert.match(stopped.stdout, new RegExp(`catalog after stop: ${name}: 0 instances`), stopped.stdout);
    }
    for (const pid of pids) {
      const state = await processState(pid);
      assert.ok(state === undefined || state === 'Z', `pid ${pid} still running (state ${state})`);
    }
    await assert.rejects(fetch(`${consul()}/v1/status/leader`, { signal: AbortSignal.timeout(2000) }), 'consul no longer answers');
    assert.deepEqual(await processesMentioning(dir), [], 'no process still uses the state dir');
    assert.deepEqual(await processesMentioning(`-http-port ${ports.consul}`), [], 'no consul agent left');

    const status = await fleet('status');
    assert.equal(status.code, 3, status.stdout);
    assert.match(status.stdout, /not running/);
  });
});
