// Shared pieces of the benchmark: progress on stderr, statistics, child processes whose
// output is watched for a ready line, and the /proc readings (RSS, CPU time, TCP sockets)
// that let the scale run measure the gateway process alone.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const started = performance.now();

/** A progress line on stderr (stdout carries only the results table). */
export function progress(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A path next to the compiled bench module (dist/bench/...), or relative to it. */
export function distPath(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/**
 * BENCH_PRIORITY=-10 (as root) raises the scheduling priority of the bench and every process it
 * starts, so that other work on a shared machine disturbs the figures less. Off by default.
 */
export const benchPriority = process.env.BENCH_PRIORITY ? Number(process.env.BENCH_PRIORITY) : undefined;
export function applyPriority(pid: number): void {
  if (benchPriority === undefined) return;
  try {
    setPriority(pid, benchPriority);
  } catch (error) {
    progress(`cannot set priority ${benchPriority} on ${pid}: ${(error as Error).message}`);
  }
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Child {
  readonly pid: number;
  readonly label: string;
  /** Resolves with the first stdout line that `match` accepts (parsed JSON when it parses). */
  waitLine<T>(match: (line: string) => T | undefined, timeoutMs?: number): Promise<T>;
  tail(lines?: number): string;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node script args...`. With `stdoutToNull` the child's stdout goes to /dev/null
 * (what a production log shipper costs at most, minus the shipper); else it is captured.
 */
export function spawnNode(label: string, script: string, args: string[], options: { stdoutToNull?: boolean; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Child {
  const devnull = options.stdoutToNull ? openSync('/dev/null', 'w') : undefined;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    stdio: ['ignore', devnull ?? 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  if (devnull !== undefined) closeSync(devnull);
  children.add(child);
  if (child.pid !== undefined) applyPriority(child.pid);
  let output = '';
  let pending = '';
  const lineListeners = new Set<(line: string) => void>();
  const append = (text: string): void => {
    output = (output + text).slice(-32 * 1024);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    append(text);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) for (const listener of lineListeners) listener(line);
  });
  child.stderr?.on('data', (chunk: Buffer) => append(chunk.toString('utf8')));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      children.delete(child);
      append(`\n[${label} exited code=${String(code)} signal=${String(signal)}]\n`);
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`${label}: spawn failed`);
  const handle: Child = {
    pid: child.pid,
    label,
    waitLine<T>(match: (line: string) => T | undefined, timeoutMs = 20_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          lineListeners.delete(listener);
          reject(new Error(`${label}: no ready line within ${timeoutMs} ms\n${handle.tail()}`));
        }, timeoutMs);
        const listener = (line: string): void => {
          const value = match(line);
          if (value === undefined) return;
          clearTimeout(timer);
          lineListeners.delete(listener);
          resolve(value);
        };
        lineListeners.add(listener);
        void exit.then(() => {
          clearTimeout(timer);
          if (lineListeners.delete(listener)) reject(new Error(`${label} exited before it was ready\n${handle.tail()}`));
        });
      });
    },
    tail: (lines = 30) => output.split('\n').slice(-lines).join('\n'),
    alive: () => !exited,
    async stop(graceMs = 5000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  return handle;
}

/** Parses a `{"ready": true, ...}` line printed by the bench's own child scripts. */
export function readyLine<T>(line: string): T | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as { ready?: boolean };
    return value.ready ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns a value other than undefined. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    await sleep(everyMs);
  }
}

// ---- /proc readings -------------------------------------------------------------------

let ticks: number | undefined;
/** Clock ticks per second for /proc/PID/stat times. */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU time all processes of the machine have used so far (every core), in ms. */
export async function machineBusyMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks();
}

/** VmRSS and VmHWM (peak) in MiB. */
export async function memoryMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** User + system CPU time of the process so far, in ms. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/**
 * CPU time so far (utime + stime, 10 ms ticks) of each thread of the process, in ms, keyed
 * "main" for the thread running JavaScript and "other threads" for the rest (V8's GC and
 * compiler helpers, libuv's pool), summed.
 */
export async function threadCpuMs(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid}:${tid === String(pid) ? 'main' : 'other threads'}`, ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks());
    } catch {
      // thread gone
    }
  }
  return out;
}

/** Per thread name, the CPU ms spent between two threadCpuMs() readings (non-zero only). */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [key, ms] of after) {
    const delta = ms - (before.get(key) ?? 0);
    if (delta <= 0) continue;
    const name = key.slice(key.indexOf(':') + 1);
    byName[name] = (byName[name] ?? 0) + delta;
  }
  return byName;
}

export interface SocketCount {
  /** ESTABLISHED TCP sockets of the process whose remote port is `port`. */
  toPort: number;
  /** All ESTABLISHED TCP sockets of the process. */
  established: number;
}

/** Counts the process's own TCP sockets by matching its fd inodes against /proc/PID/net/tcp{,6}. */
export async function tcpSockets(pid: number, port: number): Promise<SocketCount> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  let toPort = 0;
  let established = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '01' || !inodes.has(cols[9]!)) continue;
      established += 1;
      const remotePort = parseInt(cols[2]!.split(':')[1] ?? '', 16);
      if (remotePort === port) toPort += 1;
    }
  }
  return { toPort, established };
}
