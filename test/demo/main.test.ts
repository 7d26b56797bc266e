// The runnable demo backend end to end: it serves, registers in Consul as the gateway expects
// (finance under prefix fin, HTTP check on /healthz), and deregisters on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startConsul, type ConsulAgent } from '../fixtures/consul.js';
import { freePort } from '../fixtures/free-port.js';
import { waitFor } from '../fixtures/wait.js';

const main = fileURLToPath(new URL('../../src/demo/main.js', import.meta.url));
const Entries = z.array(
  z.object({
    Service: z.object({ ID: z.string(), Port: z.number(), Tags: z.array(z.string()), Meta: z.record(z.string(), z.string()) }),
    Checks: z.array(z.object({ ServiceID: z.string(), Status: z.string() })),
  }),
);

let consul: ConsulAgent;
before(async () => {
  consul = await startConsul();
});
after(async () => {
  await consul.stop();
});

test('main.js finance --consul registers service finance with prefix fin, passing; SIGTERM deregisters', async () => {
  const port = await freePort();
  const proc = spawn(process.execPath, [main, 'finance', '--port', String(port), '--consul', consul.addr], {
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    const entry = await waitFor('finance passing in consul', async () => {
      const entries = Entries.parse(await (await fetch(`${consul.addr}/v1/health/service/finance?passing=true`)).json());
      return entries[0];
    });
    assert.equal(entry.Service.Port, port);
    assert.deepEqual(entry.Service.Tags, ['mcp']);
    assert.deepEqual(entry.Service.Meta, { mcp_prefix: 'fin', mcp_path: '/mcp', mcp_scheme: 'http' });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- demo stderr ---\n${stderr}`);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exit, 0, stderr);
  assert.deepEqual(await (await fetch(`${consul.addr}/v1/health/service/finance`)).json(), []);
});

test('main.js rejects an unknown team with status 2', async () => {
  const proc = spawn(process.execPath, [main, 'legal'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  assert.equal(code, 2);
  assert.match(stderr, /usage/);
});
