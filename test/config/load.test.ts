// Config (CONTRACT §3): defaults, environment overrides, errors that name the field, and
// files read from disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, normalizeConsulAddress, parseConfig } from '../../src/config/load.js';

describe('parseConfig defaults', () => {
  test('an empty file gives the documented defaults', () => {
    for (const raw of [{}, null, undefined]) {
      const config = parseConfig(raw);
      assert.equal(config.server.port, 8000);
      assert.equal(config.server.host, '127.0.0.1');
      assert.equal(config.server.maxBodyBytes, 4 * 1024 * 1024);
      assert.equal(config.naming.separator, '__');
      assert.equal(config.naming.maxLength, 64);
      assert.equal(config.naming.prefix, 'always');
      assert.equal(config.logging.level, 'info');
      assert.equal(config.logging.arguments, 'none');
      assert.deepEqual(config.discovery.static, []);
      assert.equal(config.discovery.consul, undefined);
      assert.equal(config.auth, undefined);
      assert.equal(config.rateLimit, undefined);
    }
  });

  test('a consul section gets its defaults', () => {
    const config = parseConfig({ discovery: { consul: { address: 'http://consul:8500' } } });
    assert.deepEqual(
      { address: config.discovery.consul?.address, token: config.discovery.consul?.token, tag: config.discovery.consul?.tag },
      { address: 'http://consul:8500', token: '', tag: 'mcp' },
    );
  });

  test('the contract\'s example keys are accepted', () => {
    const config = parseConfig({
      server: { host: '0.0.0.0', port: 9000 },
      discovery: { consul: { address: 'http://127.0.0.1:8500', token: '', tag: 'mcp' }, static: [{ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }] },
      naming: { separator: '__', maxLength: 64, prefix: 'always' },
      auth: { apiKeys: [{ id: 'alice', key: `sha256:${'0'.repeat(64)}`, tools: ['ops__*'], rateLimit: { points: 5, duration: 1 } }] },
      rateLimit: { redis: 'redis://127.0.0.1:6379', default: { points: 100, duration: 60 } },
      logging: { level: 'info', arguments: 'none' },
    });
    assert.equal(config.server.port, 9000);
    assert.equal(config.discovery.static[0]?.prefix, 'ops');
    assert.equal(config.auth?.apiKeys[0]?.id, 'alice');
  });
});

describe('environment overrides', () => {
  const cases: [string, Record<string, unknown>, Record<string, string>, (c: ReturnType<typeof parseConfig>) => unknown, unknown][] = [
    ['PORT', {}, { PORT: '9100' }, (c) => c.server.port, 9100],
    ['PORT over the file', { server: { port: 7000 } }, { PORT: '9100' }, (c) => c.server.port, 9100],
    ['HOST', {}, { HOST: '0.0.0.0' }, (c) => c.server.host, '0.0.0.0'],
    ['HOST keeps the file\'s port', { server: { port: 7000 } }, { HOST: '::' }, (c) => [c.server.host, c.server.port], ['::', 7000]],
    ['CONSUL_HTTP_ADDR without scheme gets http://', {}, { CONSUL_HTTP_ADDR: '127.0.0.1:8500' }, (c) => c.discovery.consul?.address, 'http://127.0.0.1:8500'],
    ['CONSUL_HTTP_ADDR with https is kept', {}, { CONSUL_HTTP_ADDR: 'https://consul.internal:8501' }, (c) => c.discovery.consul?.address, 'https://consul.internal:8501'],
    ['CONSUL_HTTP_ADDR over the file keeps its tag', { discovery: { consul: { address: 'http://a:8500', tag: 'tools' } } }, { CONSUL_HTTP_ADDR: 'b:8500' },
      (c) => [c.discovery.consul?.address, c.discovery.consul?.tag], ['http://b:8500', 'tools']],
    ['CONSUL_HTTP_TOKEN with CONSUL_HTTP_ADDR', {}, { CONSUL_HTTP_ADDR: '127.0.0.1:8500', CONSUL_HTTP_TOKEN: 'secret-token' }, (c) => c.discovery.consul?.token, 'secret-token'],
    ['CONSUL_HTTP_TOKEN over the file', { discovery: { consul: { address: 'http://a:8500', token: 'old' } } }, { CONSUL_HTTP_TOKEN: 'new' }, (c) => c.discovery.consul?.token, 'new'],
    ['CONSUL_HTTP_TOKEN alone does not turn Consul on', {}, { CONSUL_HTTP_TOKEN: 'secret-token' }, (c) => c.discovery.consul, undefined],
    ['REDIS_URL', {}, { REDIS_URL: 'redis://redis:6379' }, (c) => c.rateLimit?.redis, 'redis://redis:6379'],
    ['REDIS_URL keeps the file\'s default limit', { rateLimit: { default: { points: 10, duration: 1 } } }, { REDIS_URL: 'redis://r:6379' },
      (c) => [c.rateLimit?.redis, c.rateLimit?.default?.points], ['redis://r:6379', 10]],
    ['LOG_LEVEL', {}, { LOG_LEVEL: 'debug' }, (c) => c.logging.level, 'debug'],
    ['empty variables change nothing', { server: { port: 7000 } }, { PORT: '', HOST: '', LOG_LEVEL: '' }, (c) => [c.server.port, c.server.host, c.logging.level], [7000, '127.0.0.1', 'info']],
  ];
  for (const [label, raw, env, pick, expected] of cases) {
    test(label, () => {
      assert.deepEqual(pick(parseConfig(raw, env)), expected);
    });
  }

  test('a consul address in the file without scheme gets http://', () => {
    assert.equal(parseConfig({ discovery: { consul: { address: 'consul:8500' } } }).discovery.consul?.address, 'http://consul:8500');
  });

  test('normalizeConsulAddress', () => {
    assert.equal(normalizeConsulAddress('127.0.0.1:8500'), 'http://127.0.0.1:8500');
    assert.equal(normalizeConsulAddress('http://127.0.0.1:8500'), 'http://127.0.0.1:8500');
    assert.equal(normalizeConsulAddress('https://c:8501'), 'https://c:8501');
  });
});

describe('invalid config', () => {
  const cases: [string, unknown, Record<string, string>, RegExp][] = [
    ['a bad static prefix', { discovery: { static: [{ prefix: 'Ops', url: 'http://x/mcp' }] } }, {}, /discovery\.static\.0\.prefix/],
    ['a bad second static entry', { discovery: { static: [{ prefix: 'ops', url: 'http://x/mcp' }, { prefix: 'hr', url: 'ftp://x' }] } }, {}, /discovery\.static\.1\.url/],
    ['a port out of range', { server: { port: 70000 } }, {}, /server\.port/],
    ['a port of the wrong type', { server: { port: '8000' } }, {}, /server\.port/],
    ['PORT out of range', {}, { PORT: '70000' }, /server\.port/],
    ['PORT not a number', {}, { PORT: 'eighty' }, /PORT/],
    ['PORT in hex', {}, { PORT: '0x1F40' }, /PORT/],
    ['PORT in exponent form', {}, { PORT: '1e3' }, /PORT/],
    ['LOG_LEVEL unknown', {}, { LOG_LEVEL: 'loud' }, /logging\.level/],
    ['a bad naming.prefix', { naming: { prefix: 'sometimes' } }, {}, /naming\.prefix/],
    ['a too small maxLength', { naming: { maxLength: 3 } }, {}, /naming\.maxLength/],
    ['an unknown top-level key', { sever: { port: 1 } }, {}, /sever/],
    ['an unknown nested key', { server: { prot: 1 } }, {}, /server.*prot/],
    ['an unknown key in a static entry', { discovery: { static: [{ prefix: 'ops', url: 'http://x/mcp', weight: 2 }] } }, {}, /discovery\.static\.0.*weight/],
    ['an unknown key in an api key', { auth: { apiKeys: [{ id: 'a', key: 'a-plain-key-of-16+chars', role: 'admin' }] } }, {}, /auth\.apiKeys\.0.*role/],
    ['a bad rate limit', { rateLimit: { default: { points: 0, duration: 1 } } }, {}, /rateLimit\.default\.points/],
    ['a list at the top level', [1, 2], {}, /top level/],
    ['a string at the top level', 'server: 1', {}, /top level/],
  ];
  for (const [label, raw, env, message] of cases) {
    test(`${label} gives a ConfigError naming the field`, () => {
      assert.throws(() => parseConfig(raw, env), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `ConfigError, got ${String(error)}`);
        assert.equal(error.name, 'ConfigError');
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('loadConfig', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-gateway-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads a YAML file', async () => {
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, [
      'server: { host: 0.0.0.0, port: 8100 }',
      'discovery:',
      '  consul: { address: "127.0.0.1:8500", tag: mcp }',
      '  static:',
      '    - { prefix: ops, url: "http://127.0.0.1:8001/mcp" }',
      'naming:',
      '  separator: "-"',
      'logging: { level: warn }',
      '',
    ].join('\n'));
    const config = await loadConfig(file, {});
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 8100);
    assert.equal(config.discovery.consul?.address, 'http://127.0.0.1:8500');
    assert.deepEqual(config.discovery.static, [{ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }]);
    assert.equal(config.naming.separator, '-');
    assert.equal(config.logging.level, 'warn');
  });

  test('reads a JSON file, with the environment on top', async () => {
    const file = join(dir, 'gateway.json');
    await writeFile(file, JSON.stringify({ server: { port: 8200 }, naming: { prefix: 'never' } }));
    const config = await loadConfig(file, { PORT: '8300', REDIS_URL: 'redis://r:6379' });
    assert.equal(config.server.port, 8300);
    assert.equal(config.naming.prefix, 'never');
    assert.equal(config.rateLimit?.redis, 'redis://r:6379');
  });

  test('MCP_GATEWAY_CONFIG names the file when no path is given', async () => {
    const file = join(dir, 'from-env.yaml');
    await writeFile(file, 'server: { port: 8400 }\n');
    assert.equal((await loadConfig(undefined, { MCP_GATEWAY_CONFIG: file })).server.port, 8400);
  });

  test('no file at all: the defaults', async () => {
    assert.equal((await loadConfig(undefined, {})).server.port, 8000);
  });

  test('an invalid file gives a ConfigError naming the field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'discovery:\n  static:\n    - { prefix: "Bad Prefix", url: "http://x/mcp" }\n');
    await assert.rejects(loadConfig(file, {}), (error: unknown) => error instanceof ConfigError && /discovery\.static\.0\.prefix/.test(error.message));
  });

  test('a file that is not YAML gives a ConfigError', async () => {
    const file = join(dir, 'garbage.yaml');
    await writeFile(file, 'server: { port: 8000\n  : : [\n');
    await assert.rejects(loadConfig(file, {}), ConfigError);
  });

  test('a missing file gives a ConfigError naming it', async () => {
    const file = join(dir, 'missing.yaml');
    await assert.rejects(loadConfig(file, {}), (error: unknown) => error instanceof ConfigError && error.message.includes(file));
  });

  test('a directory gives a ConfigError', async () => {
    await assert.rejects(loadConfig(dir, {}), ConfigError);
  });
});

describe('parseConfig input', () => {
  test('leaves the caller\'s object unchanged', () => {
    const input = { discovery: { consul: { address: 'consul:8500' } } };
    const config = parseConfig(input);
    assert.equal(config.discovery.consul?.address, 'http://consul:8500');
    assert.equal(input.discovery.consul.address, 'consul:8500');
  });
});
