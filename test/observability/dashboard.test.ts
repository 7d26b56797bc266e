// The Grafana dashboard in deploy/ queries only metrics the gateway really exports.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { startGateway } from '../fixtures/gateway.js';

describe('deploy/grafana dashboard', () => {
  it('is valid JSON whose every query names an exported metric', async () => {
    const dashboard = JSON.parse(await readFile('deploy/grafana/mcp-gateway-dashboard.json', 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const gw = await startGateway({ rateLimit: { default: { points: 10, duration: 1 } }, discovery: { consul: { address: 'http://127.0.0.1:1', register: false } } });
    try {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
      const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b(mcpgw_[a-z_]+)/g)].map((m) => m[1]!)));
      assert.ok(used.length >= 12);
      for (const metric of used) assert.ok(exported.has(metric), `${metric} is exported`);
    } finally {
      await gw.close();
    }
  });
});
