// deploy/consul's ACL policies against a real agent with ACLs on and deny by default: the
// gateway, given only its policy's token through CONSUL_HTTP_TOKEN, discovers a backend that
// registered with its own token and registers itself; each token can do what its policy says
// and nothing more; deploy/consul/acl-bootstrap.sh creates the same policies and tokens.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { startDemoBackend, type DemoBackend } from '../../src/demo/backends.js';
import { registerWithConsul } from '../../src/registration/register.js';
import { freePorts } from '../fixtures/free-port.js';
import { connectClient, eventually, startGateway, textOf } from '../fixtures/gateway.js';
import { CliProcess } from './cli-process.js';
import { policyFile, readPolicy, startAclConsul, type AclConsul } from './consul-acl.js';

const HealthSchema = z.array(z.object({
  Service: z.object({ ID: z.string(), Service: z.string() }).loose(),
  Checks: z.array(z.object({ Status: z.string() }).loose()),
}).loose());

describe('Consul ACLs (default deny) with the policies in deploy/consul', () => {
  let consul: AclConsul;
  let gatewayToken: string;
  let opsToken: string;
  const children: CliProcess[] = [];
  const backends: DemoBackend[] = [];

  const health = async (service: string, token: string): Promise<z.infer<typeof HealthSchema>> => {
    const { status, text } = await consul.request('GET', `/v1/health/service/${service}`, token);
    assert.equal(status, 200, text);
    return HealthSchema.parse(JSON.parse(text));
  };
  const passing = (entries: z.infer<typeof HealthSchema>): number => entries.filter((e) => e.Checks.every((c) => c.Status === 'passing')).length;

  before(async () => {
    consul = await startAclConsul();
    await consul.createPolicy('mcp-gateway', await readPolicy('gateway-policy.hcl'));
    await consul.createPolicy('backend-ops', await readPolicy('backend-ops-policy.hcl'));
    gatewayToken = await consul.createToken(['mcp-gateway']);
    opsToken = await consul.createToken(['backend-ops']);
  });

  after(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await Promise.all(backends.map((b) => b.close()));
    await consul?.stop();
  });

  it('denies by default: no token reads no service and registers nothing', async () => {
    const catalog = await consul.request('GET', '/v1/catalog/services');
    assert.equal(catalog.status, 200);
    assert.deepEqual(JSON.parse(catalog.text), {}, 'anonymous sees an empty catalog');
    const register = await consul.request('PUT', '/v1/agent/service/register', undefined, { Name: 'ops', ID: 'anon-ops', Port: 1 });
    assert.equal(register.status, 403, register.text);
  });

  it('a gateway with the gateway token (CONSUL_HTTP_TOKEN) discovers a backend registered with its own token, and registers itself', async () => {
    const [opsPort, gatewayPort] = await freePorts(2);
    const ops = new CliProcess('ops', 'demo/main.js', ['ops', '--host', '127.0.0.1', '--port', String(opsPort), '--consul', consul.addr], {
      CONSUL_HTTP_TOKEN: opsToken,
    });
    const gateway = new CliProcess('gateway', 'cli/main.js', ['serve'], {
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      CONSUL_HTTP_ADDR: consul.addr,
      CONSUL_HTTP_TOKEN: gatewayToken,
      LOG_LEVEL: 'info',
    });
    children.push(ops, gateway);
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const diagnostics = (): string => `\n--- ops ---\n${ops.log()}\n--- gateway ---\n${gateway.log()}`;

    await eventually(async () => passing(await health('ops', consul.managementToken)) === 1, 15_000, `ops registered and passing${diagnostics()}`);
    await eventually(async () => {
      const response = await fetch(`${gatewayUrl}/admin/tools`);
      const tools = (await response.json()) as { name: string }[];
      return tools.some((t) => t.name === 'ops__lookup_inventory');
    }, 15_000, `the gateway routes ops${diagnostics()}`);
    await eventually(async () => passing(await health('mcp-gateway', consul.managementToken)) === 1, 15_000, `mcp-gateway registered with a passing check${diagnostics()}`);
    const [self] = await health('mcp-gateway', consul.managementToken);
    assert.equal(self?.Service.ID, `mcp-gateway-127.0.0.1-${gatewayPort}`);

    const client = await connectClient(`${gatewayUrl}/mcp`);
    const result = await client.client.callTool({ name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } });
    assert.notEqual(result.isError, true, textOf(result));
    assert.match(textOf(result), /노트북/);
    await client.close();

    // Both leave with their own tokens on SIGTERM.
    assert.equal(await gateway.stop(), 0, diagnostics());
    assert.equal(await ops.stop(), 0, diagnostics());
    assert.equal((await health('mcp-gateway', consul.managementToken)).length, 0, 'the gateway deregistered itself');
    assert.equal((await health('ops', consul.managementToken)).length, 0, 'the backend deregistered itself');
  });

  it('without a token the same gateway sees nothing (deny by default is what the token lifts)', async () => {
    const hr = await startDemoBackend('hr', { port: 0 });
    backends.push(hr);
    const hrToken = await (async () => {
      await consul.createPolicy('backend-hr', await readPolicy('backend-hr-policy.hcl'));
      return consul.createToken(['backend-hr']);
    })();
    const registration = await registerWithConsul({
      name: 'hr', url: hr.url, checkUrl: hr.healthUrl, consulAddr: consul.addr, token: hrToken, deregisterOnSignal: false, interval: 500, logger: pino({ level: 'warn' }),
    });
    try {
      await eventually(async () => passing(await health('hr', consul.managementToken)) === 1, 10_000, 'hr passing');
      const anonymous = await startGateway({ discovery: { consul: { address: consul.addr, register: false, waitSeconds: 5 } } });
      const withToken = await startGateway({ discovery: { consul: { address: consul.addr, token: gatewayToken, register: false, waitSeconds: 5 } } });
      try {
        await eventually(() => withToken.gateway.catalog.catalog.tools.some((t) => t.name.startsWith('hr__')), 10_000, 'hr tools with the token');
        await eventually(() => anonymous.gateway.discovery.ready, 10_000, 'anonymous gateway synced');
        assert.deepEqual(anonymous.gateway.catalog.catalog.tools.map((t) => t.name), [], 'no token, no backends');
      } finally {
        await anonymous.close();
        await withToken.close();
      }
    } finally {
      await registration.deregister();
    }
  });

  it('a backend token writes its own service only', async () => {
    await assert.rejects(
      registerWithConsul({ name: 'hr', url: 'http://127.0.0.1:9/mcp', consulAddr: consul.addr, token: opsToken, deregisterOnSignal: false, logger: pino({ level: 'warn' }) }),
      /Permission denied/i,
      'the ops token cannot register hr',
    );
    const impostor = await consul.request('PUT', '/v1/agent/service/register', opsToken, { Name: 'mcp-gateway', ID: 'fake-gateway', Port: 1 });
    assert.equal(impostor.status, 403, 'nor pose as the gateway');
    const own = await consul.request('PUT', '/v1/agent/service/register', opsToken, { Name: 'ops', ID: 'ops-extra', Port: 1, Tags: ['mcp'] });
    assert.equal(own.status, 200, own.text);
    assert.equal((await consul.request('PUT', '/v1/agent/service/deregister/ops-extra', opsToken)).status, 200);
    const kv = await consul.request('GET', '/v1/kv/mcp-gateway/backends/ops/headers', opsToken);
    assert.equal(kv.status, 403, 'nor read the gateway\'s KV');
  });

  it('the gateway token writes its own service and reads KV under mcp-gateway/backends/ only', async () => {
    const put = await consul.request('PUT', '/v1/kv/mcp-gateway/backends/ops/headers', consul.managementToken, { authorization: 'Bearer upstream' });
    assert.equal(put.status, 200, put.text);
    assert.equal((await consul.request('PUT', '/v1/kv/elsewhere/secret', consul.managementToken, 'x')).status, 200);

    assert.equal((await consul.request('GET', '/v1/kv/mcp-gateway/backends/ops/headers', gatewayToken)).status, 200);
    assert.equal((await consul.request('GET', '/v1/kv/elsewhere/secret', gatewayToken)).status, 403);
    assert.equal((await consul.request('PUT', '/v1/kv/mcp-gateway/backends/ops/headers', gatewayToken, {})).status, 403, 'read only');
    const asBackend = await consul.request('PUT', '/v1/agent/service/register', gatewayToken, { Name: 'ops', ID: 'gw-ops', Port: 1, Tags: ['mcp'] });
    assert.equal(asBackend.status, 403, 'the gateway cannot register a backend');
    const acl = await consul.request('GET', '/v1/acl/tokens', gatewayToken);
    assert.equal(acl.status, 403, 'nor read ACLs');
  });

  it('deploy/consul/acl-bootstrap.sh creates the policies and chosen tokens, idempotently', async () => {
    const tokens = {
      GATEWAY_CONSUL_TOKEN: randomUUID(), OPS_CONSUL_TOKEN: randomUUID(), HR_CONSUL_TOKEN: randomUUID(), FINANCE_CONSUL_TOKEN: randomUUID(),
    };
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CONSUL: consul.bin, CONSUL_HTTP_ADDR: consul.addr, CONSUL_HTTP_TOKEN: consul.managementToken, ...tokens };
    const script = policyFile('acl-bootstrap.sh');
    const first = await promisify(execFile)('sh', [script], { env });
    assert.match(first.stderr, /token for backend-finance created/);
    const second = await promisify(execFile)('sh', [script], { env });
    assert.match(second.stderr, /policy mcp-gateway updated/);
    assert.match(second.stderr, /token for mcp-gateway exists/);

    const finance = await consul.request('PUT', '/v1/agent/service/register', tokens.FINANCE_CONSUL_TOKEN, { Name: 'finance', ID: 'fin-boot', Port: 1 });
    assert.equal(finance.status, 200, finance.text);
    const notOps = await consul.request('PUT', '/v1/agent/service/register', tokens.FINANCE_CONSUL_TOKEN, { Name: 'ops', ID: 'fin-as-ops', Port: 1 });
    assert.equal(notOps.status, 403);
    const seen = await consul.request('GET', '/v1/catalog/services', tokens.GATEWAY_CONSUL_TOKEN);
    assert.ok('finance' in JSON.parse(seen.text), seen.text);
    await consul.request('PUT', '/v1/agent/service/deregister/fin-boot', tokens.FINANCE_CONSUL_TOKEN);

    await assert.rejects(
      promisify(execFile)('sh', [script], { env: { ...env, OPS_CONSUL_TOKEN: 'REPLACE_ME' } }),
      /OPS_CONSUL_TOKEN must be a UUID/,
      'a placeholder is refused',
    );
  });
});
