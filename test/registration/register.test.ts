// registerWithConsul and the register sidecar against a real Consul dev agent: what the
// gateway will read from the catalog, check states over time, deregistration, agent restarts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startConsul, type ConsulAgent } from '../fixtures/consul.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { waitFor } from '../fixtures/wait.js';
import { registerWithConsul, RegistrationOptionsError, serviceDefinition } from '../../src/registration/register.js';
import { runRegisterSidecar } from '../../src/registration/sidecar.js';
import { pino } from 'pino';

const HealthEntries = z.array(
  z.object({
    Service: z.object({
      ID: z.string(),
      Service: z.string(),
      Tags: z.array(z.string()).nullable(),
      Address: z.string(),
      Port: z.number(),
      Meta: z.record(z.string(), z.string()).nullable(),
    }),
    Checks: z.array(z.object({ CheckID: z.string(), Status: z.string(), Notes: z.string(), ServiceID: z.string(), Output: z.string() })),
  }),
);
type HealthEntry = z.infer<typeof HealthEntries>[number];

const quiet = pino({ level: 'silent' });
let consul: ConsulAgent;
let backend: TestBackend;

async function health(service: string): Promise<HealthEntry[]> {
  const response = await fetch(`${consul.addr}/v1/health/service/${service}`);
  assert.equal(response.status, 200);
  return HealthEntries.parse(await response.json());
}

/** The status of the instance's own service check, once Consul has it. */
async function checkStatus(service: string, serviceId: string): Promise<string | undefined> {
  const entry = (await health(service)).find((e) => e.Service.ID === serviceId);
  return entry?.Checks.find((check) => check.ServiceID === serviceId)?.Status;
}

function waitStatus(service: string, serviceId: string, status: string, timeoutMs = 8000): Promise<true> {
  return waitFor(`${serviceId} ${status}`, async () => (await checkStatus(service, serviceId)) === status || undefined, { timeoutMs });
}

function waitGone(service: string, timeoutMs = 5000): Promise<true> {
  return waitFor(`${service} gone`, async () => (await health(service)).length === 0 || undefined, { timeoutMs });
}

before(async () => {
  consul = await startConsul();
  backend = await startBackend({ tools: [{ name: 'ping' }], name: 'registered' });
});

after(async () => {
  await backend.close();
  await consul.stop();
});

describe('registerWithConsul', () => {
  test('registers tag mcp, Meta, Address/Port and a TCP check that Consul turns passing; deregister removes it', async () => {
    const registration = await registerWithConsul({
      name: 'alpha',
      url: backend.url,
      tags: ['team-a'],
      consulAddr: consul.addr,
      interval: '500ms',
      deregisterOnSignal: false,
      logger: quiet,
    });
    assert.equal(registration.serviceId, `alpha-127.0.0.1-${backend.port}`);
    await waitStatus('alpha', registration.serviceId, 'passing');

    const [entry] = await health('alpha');
    assert.ok(entry);
    assert.deepEqual(entry.Service.Tags, ['mcp', 'team-a']);
    assert.deepEqual(entry.Service.Meta, { mcp_prefix: 'alpha', mcp_path: '/mcp', mcp_scheme: 'http' });
    assert.equal(entry.Service.Address, '127.0.0.1');
    assert.equal(entry.Service.Port, backend.port);
    const check = entry.Checks.find((c) => c.CheckID === registration.checkId);
    assert.ok(check, 'the service check is listed');
    assert.equal(check.Notes, backend.url);

    await registration.deregister();
    await registration.deregister(); // a second call is harmless
    assert.deepEqual(await health('alpha'), []);
  });

  test('an HTTP check on checkUrl follows the health endpoint: passing, then critical', async () => {
    let healthy = true;
    const healthServer: Server = createServer((_req, res) => res.writeHead(healthy ? 200 : 503).end());
    healthServer.listen(0, '127.0.0.1');
    await once(healthServer, 'listening');
    const address = healthServer.address();
    assert.ok(address !== null && typeof address === 'object');
    try {
      const registration = await registerWithConsul({
        name: 'bravo',
        prefix: 'b',
        id: 'bravo-1',
        url: backend.url,
        checkUrl: `http://127.0.0.1:${address.port}/healthz`,
        consulAddr: consul.addr,
        interval: 300,
        deregisterOnSignal: false,
        logger: quiet,
      });
      assert.equal(registration.serviceId, 'bravo-1');
      await waitStatus('bravo', 'bravo-1', 'passing');
      assert.equal((await health('bravo'))[0]?.Service.Meta?.mcp_prefix, 'b');
      healthy = false;
      await waitStatus('bravo', 'bravo-1', 'critical');
      await registration.deregister();
      await waitGone('bravo');
    } finally {
      healthServer.close();
    }
  });

  test('TTL mode is passing on return; a failing probe turns it critical', async () => {
    let ok = true;
    const registration = await registerWithConsul({
      name: 'charlie',
      url: backend.url,
      check: 'ttl',
      ttl: 600,
      probe: () => ({ ok, note: ok ? 'fine' : 'backend down' }),
      consulAddr: consul.addr,
      deregisterOnSignal: false,
      logger: quiet,
    });
    assert.equal(await checkStatus('charlie', registration.serviceId), 'passing');
    ok = false;
    await waitStatus('charlie', registration.serviceId, 'critical', 3000);
    const check = (await health('charlie'))[0]?.Checks.find((c) => c.CheckID === registration.checkId);
    assert.equal(check?.Output, 'backend down');
    await registration.deregister();
    await waitGone('charlie');
  });

  test('invalid prefixes and options are rejected before anything is registered', async () => {
    await assert.rejects(
      registerWithConsul({ name: 'delta', prefix: 'Bad_Prefix', url: backend.url, consulAddr: consul.addr, deregisterOnSignal: false, logger: quiet }),
      RegistrationOptionsError,
    );
    // The default prefix is the service name, so a service name that is no prefix needs one.
    await assert.rejects(
      registerWithConsul({ name: 'Delta Service', url: backend.url, consulAddr: consul.addr, deregisterOnSignal: false, logger: quiet }),
      /prefix "Delta Service" \(the service name\)/,
    );
    assert.throws(() => serviceDefinition({ name: 'delta', prefix: 'x'.repeat(33), url: backend.url }), RegistrationOptionsError);
    assert.throws(() => serviceDefinition({ name: 'delta', url: 'ftp://127.0.0.1/mcp' }), RegistrationOptionsError);
    assert.throws(() => serviceDefinition({ name: 'delta', url: backend.url, check: 'http' }), /needs checkUrl/);
    assert.throws(() => serviceDefinition({ name: 'delta', url: backend.url, ttl: 'soon' }), RegistrationOptionsError);
    // `ttl: 10` meant as seconds would be a 10 ms TTL: refused, not silently flapping.
    assert.throws(() => serviceDefinition({ name: 'delta', url: backend.url, check: 'ttl', ttl: 10 }), /at least 500 ms/);
    assert.deepEqual(await health('delta'), []);
    assert.deepEqual(await health('Delta Service'), []);
  });

  test('service definition: https scheme, default port, IPv6 host, custom tag', () => {
    const { service, mode } = serviceDefinition({ name: 'echo', url: 'https://[::1]/v2/mcp', tag: 'mcp-v2' });
    assert.equal(mode, 'tcp');
    assert.equal(service.id, 'echo-::1-443');
    assert.equal(service.address, '::1');
    assert.equal(service.port, 443);
    assert.deepEqual(service.tags, ['mcp-v2']);
    assert.deepEqual(service.meta, { mcp_prefix: 'echo', mcp_path: '/v2/mcp', mcp_scheme: 'https' });
    assert.equal(service.check.tcp, '[::1]:443');
    assert.equal(service.check.deregistercriticalserviceafter, '60000ms');
  });

  test('registers again after the Consul agent restarted empty (TTL and TCP modes)', async () => {
    const common = { url: backend.url, consulAddr: consul.addr, deregisterOnSignal: false, logger: quiet };
    const ttl = await registerWithConsul({ ...common, name: 'foxtrot', check: 'ttl', ttl: 600 });
    const tcp = await registerWithConsul({ ...common, name: 'foxtrot-tcp', interval: 300, resyncInterval: 300 });
    await consul.restart();
    await waitStatus('foxtrot', ttl.serviceId, 'passing', 5000);
    await waitStatus('foxtrot-tcp', tcp.serviceId, 'passing', 5000);
    await Promise.all([ttl.deregister(), tcp.deregister()]);
    await waitGone('foxtrot');
    await waitGone('foxtrot-tcp');
  });
});

describe('a registered process', () => {
  const child = fileURLToPath(new URL('./register-child.js', import.meta.url));

  function spawnRegistered(name: string): Promise<{ pid: number; exit: Promise<number | null>; serviceId: string }> {
    const proc = spawn(process.execPath, [child], {
      env: {
        ...process.env,
        LOG_LEVEL: 'silent',
        MCP_REGISTER_CHILD: JSON.stringify({ name, url: backend.url, check: 'ttl', ttl: 1000, consulAddr: consul.addr }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        const match = /registered (\S+)/.exec(chunk.toString());
        if (match?.[1] && proc.pid !== undefined) resolve({ pid: proc.pid, exit, serviceId: match[1] });
      });
      void exit.then((code) => reject(new Error(`register child exited (${String(code)}) before registering:\n${output}`)));
    });
  }

  test('SIGKILL: no more TTL reports, the check goes critical', async () => {
    const { pid, exit, serviceId } = await spawnRegistered('golf');
    assert.equal(await checkStatus('golf', serviceId), 'passing');
    process.kill(pid, 'SIGKILL');
    await exit;
    await waitStatus('golf', serviceId, 'critical', 4000);
    await fetch(`${consul.addr}/v1/agent/service/deregister/${serviceId}`, { method: 'PUT' });
  });

  test('SIGTERM: deregisters, then exits 0', async () => {
    const { pid, exit, serviceId } = await spawnRegistered('hotel');
    assert.equal(await checkStatus('hotel', serviceId), 'passing');
    process.kill(pid, 'SIGTERM');
    assert.equal(await exit, 0);
    assert.deepEqual(await health('hotel'), []);
  });
});

describe('runRegisterSidecar', () => {
  test('reports the TCP probe to a TTL check and deregisters when stopped', async () => {
    const target = await startBackend({ tools: [], name: 'sidecar-target' });
    const stop = new AbortController();
    const done = runRegisterSidecar({
      name: 'india',
      prefix: 'in',
      url: target.url,
      consulAddr: consul.addr,
      ttl: '900ms',
      signal: stop.signal,
      logger: quiet,
    });
    const serviceId = `india-127.0.0.1-${target.port}`;
    await waitStatus('india', serviceId, 'passing', 5000);
    assert.equal((await health('india'))[0]?.Service.Meta?.mcp_prefix, 'in');
    await target.kill();
    await waitStatus('india', serviceId, 'critical', 3000);
    stop.abort();
    await done;
    assert.deepEqual(await health('india'), []);
  });

  test('rejects an invalid prefix without retrying', async () => {
    await assert.rejects(
      runRegisterSidecar({ name: 'juliet', prefix: '-no', url: backend.url, consulAddr: consul.addr, logger: quiet }),
      RegistrationOptionsError,
    );
  });
});
