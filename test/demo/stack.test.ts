// The demo as users start it: three team processes and a gateway process, static and
// Consul-driven, with the tour of calls made through the one endpoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { sharedConsulAddr } from '../fixtures/consul.js';
import { freePorts } from '../fixtures/free-port.js';

const STACK = join(process.cwd(), 'dist/src/demo/stack.js');
const EXPECTED_TOOLS = [
  'fin__calculate_budget', 'fin__generate_report', 'fin__search', 'flow__incident_full_report',
  'hr__approve_leave', 'hr__search', 'hr__search_policy',
  'ops__create_ticket', 'ops__lookup_inventory', 'ops__search',
];

interface Tour { tools: string[]; steps: { tool: string; text: string; isError: boolean }[] }

async function runOnce(extra: string[], backends: number[]): Promise<Tour> {
  const [gateway] = await freePorts(1);
  const { stdout } = await promisify(execFile)(process.execPath, [STACK, '--once', '--port', String(gateway), '--backend-port', backends.join(','), ...extra], {
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '' },
  });
  return JSON.parse(stdout) as Tour;
}

function check(tour: Tour): void {
  assert.deepEqual(tour.tools, EXPECTED_TOOLS);
  for (const step of tour.steps) assert.equal(step.isError, false, `${step.tool}: ${step.text}`);
  assert.match(tour.steps.find((s) => s.tool === 'ops__lookup_inventory')!.text, /노트북.*42/);
  assert.match(tour.steps.find((s) => s.tool === 'flow__incident_full_report')!.text, /인시던트 보고서.*노트북[\s\S]*재고 42대[\s\S]*HR-POL-003[\s\S]*예산/);
}

describe('demo stack', () => {
  it('serves the ops/hr/finance fleet through one endpoint with static backends', async () => {
    check(await runOnce([], await freePorts(3)));
  });

  it('serves the same fleet discovered through Consul, and leaves Consul clean', async () => {
    const consul = sharedConsulAddr();
    const ports = await freePorts(3);
    check(await runOnce(['--consul', consul], ports));
    for (const name of ['ops', 'hr', 'finance']) {
      const instances = (await (await fetch(`${consul}/v1/catalog/service/${name}`)).json()) as { ServicePort: number }[];
      assert.deepEqual(instances.filter((i) => ports.includes(i.ServicePort)), [], `${name} deregistered on stop`);
    }
  });
});
