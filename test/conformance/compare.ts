// The conformance comparison: starts the conformance backend and a gateway in front of it
// (prefix mode never), runs the official suite's server scenarios (active and pending) against
// each, and lines the outcomes up per scenario. A scenario passes when none of its checks
// failed (warnings are counted, not failed), as the suite itself decides.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGateway, eventually, type RunningGateway } from '../fixtures/gateway.js';
import { startConformanceServer, type ConformanceServer } from './server.js';

export type Target = 'direct' | 'gateway';
export type SuiteName = 'active' | 'pending';

export interface Check {
  id: string;
  name?: string;
  /** SUCCESS, FAILURE, WARNING or INFO. */
  status: string;
  description?: string;
  errorMessage?: string;
  details?: unknown;
}

export interface Outcome {
  /** `missing`: the suite wrote no result for the scenario (it crashed or timed out). */
  status: 'pass' | 'fail' | 'missing';
  passed: number;
  failed: number;
  warnings: number;
  /** The checks that failed or warned, with the suite's message. */
  notes: { id: string; status: string; message: string; details?: string }[];
  checks: Check[];
}

export interface Row {
  scenario: string;
  suite: SuiteName;
  direct: Outcome;
  gateway: Outcome;
}

export interface ComparisonOptions {
  /** A Node 22+ binary to run the suite with. */
  node: string;
  /** The suite's CLI (…/@modelcontextprotocol/conformance/dist/index.js). */
  suiteBin: string;
  /** Where the suite's checks.json files and the gateway's log go. */
  outDir: string;
  suites?: readonly SuiteName[];
  /** Only these scenarios (each run on its own); default: the whole suites. */
  scenarios?: readonly string[];
  /** Per suite run. */
  timeoutMs?: number;
  progress?: (line: string) => void;
}

export interface Comparison {
  rows: Row[];
  /** Scenarios the backend passes directly and the gateway does not. */
  regressions: Row[];
  /** Scenarios the backend itself does not pass (the backend is incomplete). */
  backendFailures: Row[];
  directUrl: string;
  gatewayUrl: string;
  durationMs: number;
}

const MISSING: Outcome = { status: 'missing', passed: 0, failed: 0, warnings: 0, notes: [], checks: [] };

/** A failed check's details, short enough for a terminal line. */
function brief(details: unknown): string {
  const json = JSON.stringify(details);
  return json.length > 400 ? `${json.slice(0, 400)}…` : json;
}

export function outcomeOf(checks: Check[]): Outcome {
  const count = (status: string): number => checks.filter((c) => c.status === status).length;
  const failed = count('FAILURE');
  return {
    status: failed === 0 ? 'pass' : 'fail',
    passed: count('SUCCESS'),
    failed,
    warnings: count('WARNING'),
    notes: checks
      .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
      .map((c) => ({ id: c.id, status: c.status, message: c.errorMessage ?? c.description ?? '', ...(c.status === 'FAILURE' && c.details !== undefined ? { details: brief(c.details) } : {}) })),
    checks,
  };
}

/** Runs the suite's CLI once; resolves with the scenarios it ran, in order (its exit code says nothing we need). */
async function runSuite(options: ComparisonOptions, url: string, outDir: string, selection: { suite: SuiteName } | { scenario: string }): Promise<string[]> {
  const args = [options.suiteBin, 'server', '--url', url, '-o', outDir, ...('suite' in selection ? ['--suite', selection.suite] : ['--scenario', selection.scenario])];
  const child = spawn(options.node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timeoutMs = options.timeoutMs ?? 180_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exit) => resolve(exit));
  }).finally(() => clearTimeout(timer));
  const label = 'suite' in selection ? `suite-${selection.suite}` : `scenario-${selection.scenario}`;
  await writeFile(join(outDir, `${label}.log`), output);
  const ran = [...output.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]!);
  if ('scenario' in selection) return [selection.scenario];
  if (ran.length === 0) throw new Error(`the conformance suite ran no scenario (exit ${String(code)}):\n${output.slice(-4000)}`);
  return ran;
}

/** checks.json of each scenario under `dir` (directories named server-<scenario>-<timestamp>). */
async function readChecks(dir: string): Promise<Map<string, Check[]>> {
  const out = new Map<string, Check[]>();
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch {
    return out;
  }
  for (const entry of entries) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(entry);
    if (!match) continue;
    try {
      out.set(match[1]!, JSON.parse(await readFile(join(dir, entry, 'checks.json'), 'utf8')) as Check[]);
    } catch {
      // No checks.json: the scenario counts as missing.
    }
  }
  return out;
}

async function runTarget(options: ComparisonOptions, target: Target, url: string): Promise<{ order: { scenario: string; suite: SuiteName }[]; checks: Map<string, Check[]> }> {
  const dir = join(options.outDir, target);
  await mkdir(dir, { recursive: true });
  const order: { scenario: string; suite: SuiteName }[] = [];
  const suites = options.suites ?? ['active', 'pending'];
  if (options.scenarios?.length) {
    for (const scenario of options.scenarios) {
      options.progress?.(`${target}: ${scenario}`);
      await runSuite(options, url, dir, { scenario });
      order.push({ scenario, suite: 'active' });
    }
  } else {
    for (const suite of suites) {
      options.progress?.(`${target}: ${suite} scenarios against ${url}`);
      for (const scenario of await runSuite(options, url, dir, { suite })) order.push({ scenario, suite });
    }
  }
  return { order, checks: await readChecks(dir) };
}

export async function compare(options: ComparisonOptions): Promise<Comparison> {
  const started = performance.now();
  await mkdir(options.outDir, { recursive: true });
  let backend: ConformanceServer | undefined;
  let gateway: RunningGateway | undefined;
  try {
    backend = await startConformanceServer({ port: 0 });
    gateway = await startGateway({
      naming: { prefix: 'never' },
      discovery: { static: [{ prefix: 'conf', url: backend.url }] },
    });
    const catalog = gateway.gateway.catalog;
    await eventually(() => catalog.catalog.tools.length > 0 && catalog.catalog.prompts.length > 0 && catalog.catalog.resources.length > 0, 15_000, 'the gateway to list the backend');

    const direct = await runTarget(options, 'direct', backend.url);
    const through = await runTarget(options, 'gateway', gateway.mcpUrl);

    const rows: Row[] = [];
    const seen = new Set<string>();
    for (const { scenario, suite } of [...direct.order, ...through.order]) {
      if (seen.has(scenario)) continue;
      seen.add(scenario);
      const d = direct.checks.get(scenario);
      const g = through.checks.get(scenario);
      rows.push({ scenario, suite, direct: d ? outcomeOf(d) : MISSING, gateway: g ? outcomeOf(g) : MISSING });
    }
    const regressions = rows.filter((r) => r.direct.status === 'pass' && r.gateway.status !== 'pass');
    const backendFailures = rows.filter((r) => r.direct.status !== 'pass');
    const result: Comparison = {
      rows, regressions, backendFailures,
      directUrl: backend.url, gatewayUrl: gateway.mcpUrl,
      durationMs: Math.round(performance.now() - started),
    };
    await writeFile(join(options.outDir, 'comparison.json'), JSON.stringify(result, null, 2));
    return result;
  } finally {
    if (gateway) {
      await writeFile(join(options.outDir, 'gateway.log'), `${gateway.logs.join('\n')}\n`).catch(() => undefined);
      await gateway.close().catch(() => undefined);
    }
    await backend?.close().catch(() => undefined);
  }
}

function cell(outcome: Outcome): string {
  if (outcome.status === 'missing') return 'NO RESULT';
  const total = outcome.passed + outcome.failed;
  let text = outcome.status === 'pass' ? 'pass' : `FAIL ${outcome.failed}/${total}`;
  if (outcome.status === 'pass' && total > 1) text += ` ${outcome.passed}/${total}`;
  if (outcome.warnings) text += ` (${outcome.warnings} warn)`;
  return text;
}

/** The side-by-side table (Markdown, readable as plain text), then what failed and why. */
export function formatComparison(result: Comparison): string {
  const header = ['scenario', 'direct', 'gateway'];
  const body = result.rows.map((r) => [
    `${r.scenario}${r.suite === 'pending' ? ' (pending)' : ''}`,
    cell(r.direct),
    `${cell(r.gateway)}${result.regressions.includes(r) ? '  <-- gateway gap' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cols: string[]): string => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  const passes = (t: Target): number => result.rows.filter((r) => r[t].status === 'pass').length;
  out.push('', `scenarios passed: direct ${passes('direct')}/${result.rows.length}, gateway ${passes('gateway')}/${result.rows.length}`);
  for (const [title, rows, target] of [
    ['gateway fails where the backend passes', result.regressions, 'gateway'],
    ['the backend itself fails (incomplete conformance backend)', result.backendFailures, 'direct'],
  ] as const) {
    if (rows.length === 0) continue;
    out.push('', `${title}:`);
    for (const row of rows) {
      out.push(`  ${row.scenario}:`);
      for (const note of row[target].notes.filter((n) => n.status === 'FAILURE')) {
        out.push(`    ${note.id}: ${note.message}`);
        if (note.details) out.push(`      details: ${note.details}`);
      }
      if (row[target].status === 'missing') out.push('    no checks.json: the suite crashed or timed out on this scenario');
    }
  }
  const warned = result.rows.filter((r) => r.gateway.warnings > 0 || r.direct.warnings > 0);
  if (warned.length) {
    out.push('', 'warnings (SHOULD-level, not failures):');
    for (const row of warned) {
      for (const target of ['direct', 'gateway'] as const) {
        for (const note of row[target].notes.filter((n) => n.status === 'WARNING')) out.push(`  ${row.scenario} [${target}] ${note.id}: ${note.message}`);
      }
    }
  }
  return out.join('\n');
}
