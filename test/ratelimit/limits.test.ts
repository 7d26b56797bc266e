// Rate limits on a real Redis: one limit shared by two gateway processes, per-backend and
// per-tool rules, the in-process insurance limiter while Redis is down, and /metrics
// counting what happened.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { freePort } from '../fixtures/free-port.js';
import { connectClient, eventually, startGateway, type RunningGateway } from '../fixtures/gateway.js';
import { startRedis, type RedisServer } from '../fixtures/redis.js';

const KEY = 'limited-key-0123456789';
const BIG = 'unlimited-key-0123456789';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A raw MCP session: initialize once, then POST calls and read status and headers. */
async function rawSession(mcpUrl: string, key: string): Promise<(name: string) => Promise<Response>> {
  const auth = { authorization: `Bearer ${key}` };
  const init = await fetch(mcpUrl, {
    method: 'POST',
    headers: { ...HEADERS, ...auth },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  assert.equal(init.status, 200);
  await init.text();
  const session = init.headers.get('mcp-session-id')!;
  let id = 1;
  return (name) => fetch(mcpUrl, {
    method: 'POST',
    headers: { ...HEADERS, ...auth, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: {} } }),
  });
}

describe('rate limits on Redis', () => {
  let redis: RedisServer;
  let backend: TestBackend;
  let a: RunningGateway;
  let b: { url: string; stop(): Promise<void> };
  let client: Redis;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    await client.connect();
    backend = await startBackend({ tools: [{ name: 'echo' }, { name: 'generate_report' }, { name: 'other' }] });
    const config = {
      discovery: { static: [{ prefix: 'fin', url: backend.url }] },
      auth: { apiKeys: [{ id: 'limited', key: KEY, rateLimit: { points: 10, duration: 5 } }, { id: 'big', key: BIG }] },
      rateLimit: {
        redis: redis.url,
        default: { points: 1000, duration: 60 },
        backends: { fin: { points: 40, duration: 5 } },
        tools: [{ match: 'fin__generate_report', points: 3, duration: 5 }],
      },
    };
    a = await startGateway(config);
    // The second gateway is another process, as a second replica would be.
    const dir = await mkdtemp(join(tmpdir(), 'gw-rl-'));
    const file = join(dir, 'gateway.json');
    const port = await freePort();
    await writeFile(file, JSON.stringify({ ...config, server: { port } }));
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'serve', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
    b = {
      url: `http://127.0.0.1:${port}`,
      async stop() {
        child.kill('SIGTERM');
        await once(child, 'exit');
      },
    };
    await eventually(async () => (await fetch(`${b.url}/readyz`)).status === 200, 10_000, 'second gateway ready');
    await eventually(() => a.gateway.catalog.catalog.tools.length === 3, 5000, 'tools');
    await eventually(async () => {
      const res = await fetch(`${b.url}/admin/tools`, { headers: { authorization: `Bearer ${BIG}` } });
      return res.status === 403 || ((await res.json()) as unknown[]).length === 3;
    }, 5000, 'second gateway tools');
  });

  after(async () => {
    await a.close();
    await b.stop();
    await backend.close();
    client.disconnect();
    await redis.stop();
  });

  it('enforces one limit across two gateway processes: 16 calls, exactly 10 succeed', async () => {
    const viaA = await rawSession(a.mcpUrl, KEY);
    const viaB = await rawSession(`${b.url}/mcp`, KEY);
    const before = backend.calls;
    const statuses: number[] = [];
    const retryAfter: string[] = [];
    for (let i = 0; i < 16; i++) {
      const res = await (i % 2 === 0 ? viaA : viaB)('fin__echo');
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter.push(res.headers.get('retry-after') ?? '');
        const body = (await res.json()) as { error: { code: number; message: string; data: { rule: string } } };
        assert.equal(body.error.data.rule, 'principal:limited');
        assert.match(body.error.message, /Rate limit exceeded/);
        assert.equal(res.headers.get('ratelimit-remaining'), '0');
      } else {
        await res.text();
      }
    }
    assert.equal(statuses.filter((s) => s === 200).length, 10, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    assert.ok(retryAfter.every((v) => Number(v) >= 1 && Number(v) <= 5), `Retry-After: ${retryAfter.join(',')}`);
    assert.equal(backend.calls - before, 10, 'refused calls never reached the backend');
    const keys = await client.keys('mcpgw:*');
    assert.ok(keys.some((k) => k.startsWith('mcpgw:principal') && k.includes('limited')), `keys: ${keys.join(',')}`);
  });

  it('bites with a per-tool rule', async () => {
    const call = await rawSession(a.mcpUrl, BIG);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call('fin__generate_report');
      statuses.push(res.status);
      if (res.status === 429) assert.equal(((await res.json()) as { error: { data: { rule: string } } }).error.data.rule, 'tool:fin__generate_report');
      else await res.text();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    // Other tools of the same backend are not held by the tool rule.
    assert.equal((await call('fin__other')).status, 200);
  });

  it('bites with a per-backend rule shared by every principal', async () => {
    await client.del(await client.keys('mcpgw:backend*'));
    const big = await rawSession(a.mcpUrl, BIG);
    let ok = 0;
    let refused: string | undefined;
    for (let i = 0; i < 45 && !refused; i++) {
      const res = await big('fin__other');
      if (res.status === 200) { ok += 1; await res.text(); } else refused = ((await res.json()) as { error: { data: { rule: string } } }).error.data.rule;
    }
    assert.equal(refused, 'backend:fin');
    assert.ok(ok <= 40, `${ok} calls before the backend rule refused`);
  });

  it('keeps limiting in-process while Redis is down, and shares limits again once it is back', async () => {
    await redis.stop();
    await eventually(() => a.gateway.limits?.usingFallback, 5000, 'fallback');
    const metricsDown = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(metricsDown, /^mcpgw_ratelimit_redis_fallback 1$/m);
    // A fresh principal budget in the insurance limiter: 10 points for the limited key.
    const call = await rawSession(a.mcpUrl, KEY);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call('fin__echo');
      statuses.push(res.status);
      await res.text();
    }
    assert.ok(statuses.filter((s) => s === 200).length >= 1, 'calls are still served without Redis');
    assert.ok(statuses.includes(429), `still limited without Redis: ${statuses.join(',')}`);
    assert.ok(a.logs.some((l) => l.includes('redis unreachable')), 'the outage is logged');

    await redis.restart();
    await eventually(() => a.gateway.limits?.usingFallback === false, 10_000, 'back on redis');
    await client.ping().catch(() => undefined);
    await eventually(async () => (await client.ping()) === 'PONG', 5000, 'test client reconnected');
    await new Promise((r) => setTimeout(r, 5100)); // the earlier windows expire
    const viaA = await rawSession(a.mcpUrl, KEY);
    const viaB = await rawSession(`${b.url}/mcp`, KEY);
    await eventually(async () => {
      const res = await fetch(`${b.url}/metrics`);
      return /^mcpgw_ratelimit_redis_fallback 0$/m.test(await res.text());
    }, 10_000, 'second gateway back on redis');
    let ok = 0;
    for (let i = 0; i < 16; i++) {
      const res = await (i % 2 === 0 ? viaA : viaB)('fin__echo');
      if (res.status === 200) ok += 1;
      await res.text();
    }
    assert.equal(ok, 10, 'shared again across both gateways');
    assert.ok((await client.keys('mcpgw:principal*')).length > 0);
  });

  it('exposes Prometheus metrics that count what happened', async () => {
    const c = await connectClient(a.mcpUrl, { authorization: `Bearer ${BIG}` });
    await c.client.callTool({ name: 'fin__other', arguments: {} }).catch(() => undefined);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    const families = parsePrometheusTextFormat(text);
    const family = (name: string) => families.find((f) => f.name === name);
    const limited = family('mcpgw_rate_limited_total')!.metrics;
    assert.ok(limited.some((m) => m.labels?.rule === 'principal:limited' && Number(m.value) >= 6));
    assert.ok(limited.some((m) => m.labels?.rule === 'tool:fin__generate_report' && Number(m.value) >= 2));
    const requests = family('mcpgw_requests_total')!.metrics;
    assert.ok(requests.some((m) => m.labels?.method === 'tools/call' && m.labels.tool === 'fin__echo' && m.labels.backend === 'fin' && m.labels.status === 'ok' && Number(m.value) >= 20));
    assert.ok(requests.some((m) => m.labels?.status === 'rate_limited'));
    assert.equal(family('mcpgw_request_duration_seconds')?.type, 'HISTOGRAM');
    assert.equal(family('mcpgw_backend_duration_seconds')?.type, 'HISTOGRAM');
    const backendCount = /^mcpgw_backend_duration_seconds_count\{backend="fin"\} (\d+)$/m.exec(text);
    assert.ok(Number(backendCount?.[1]) >= 20, 'backend time observed per routed call');
    assert.equal(family('mcpgw_catalog_tools')?.metrics[0]?.value, '3');
    assert.ok(Number(family('mcpgw_sessions_open')?.metrics[0]?.value) >= 1);
    assert.ok(Number(family('mcpgw_ratelimit_fallback_requests_total')?.metrics[0]?.value) >= 1);
    const instances = family('mcpgw_instances')!.metrics;
    assert.ok(instances.some((m) => m.labels?.health === 'passing' && m.labels.connected === 'true' && m.value === '1'));
    await c.close();
  });
});
