// Static backends: the `<NAME>_SERVER_URL` variables (CONTRACT §3) and config entries.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendsFromEnv, staticBackend, StaticSource } from '../../src/discovery/static.js';
import type { Snapshot } from '../../src/discovery/snapshot.js';

describe('backendsFromEnv', () => {
  const cases: [string, Record<string, string | undefined>, { prefix: string; url: string }[]][] = [
    ['OPS_SERVER_URL gives prefix ops', { OPS_SERVER_URL: 'http://127.0.0.1:8001/mcp' }, [{ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }]],
    ['MY_TEAM_SERVER_URL gives my-team', { MY_TEAM_SERVER_URL: 'https://team.internal/mcp' }, [{ prefix: 'my-team', url: 'https://team.internal/mcp' }]],
    ['digits are kept', { HR2_SERVER_URL: 'http://hr2:80/mcp' }, [{ prefix: 'hr2', url: 'http://hr2:80/mcp' }]],
    ['several, sorted by variable name', {
      OPS_SERVER_URL: 'http://127.0.0.1:8001/mcp',
      FINANCE_SERVER_URL: 'http://127.0.0.1:8003/mcp',
      HR_SERVER_URL: 'http://127.0.0.1:8002/mcp',
    }, [
      { prefix: 'finance', url: 'http://127.0.0.1:8003/mcp' },
      { prefix: 'hr', url: 'http://127.0.0.1:8002/mcp' },
      { prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' },
    ]],
    ['unrelated variables are ignored', {
      PATH: '/usr/bin',
      HOME: '/root',
      SERVER_URL: 'http://x/mcp',
      OPS_SERVER_URLS: 'http://x/mcp',
      ops_server_url: 'http://x/mcp',
      OPS_SERVER_URL_OLD: 'http://x/mcp',
      CONSUL_HTTP_ADDR: '127.0.0.1:8500',
      REDIS_URL: 'redis://127.0.0.1:6379',
    }, []],
    ['an empty or unset value is ignored', { OPS_SERVER_URL: '', HR_SERVER_URL: undefined }, []],
  ];
  for (const [label, env, expected] of cases) {
    test(label, () => {
      const { backends, errors } = backendsFromEnv(env);
      assert.deepEqual(errors, []);
      assert.deepEqual(backends, expected);
    });
  }

  const bad: [string, Record<string, string>, RegExp][] = [
    ['an invalid URL', { OPS_SERVER_URL: 'not a url' }, /^OPS_SERVER_URL: not an http\(s\) URL/],
    ['a non-http URL', { OPS_SERVER_URL: 'ftp://127.0.0.1/mcp' }, /^OPS_SERVER_URL: not an http\(s\) URL/],
    ['a prefix longer than 32 characters', { [`${'A'.repeat(33)}_SERVER_URL`]: 'http://127.0.0.1:8001/mcp' }, /prefix "a{33}" does not match/],
  ];
  for (const [label, env, message] of bad) {
    test(`${label} is reported and skipped`, () => {
      const { backends, errors } = backendsFromEnv({ ...env, HR_SERVER_URL: 'http://127.0.0.1:8002/mcp' });
      assert.deepEqual(backends, [{ prefix: 'hr', url: 'http://127.0.0.1:8002/mcp' }]);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, message);
    });
  }
});

describe('staticBackend', () => {
  test('one healthy instance at the URL, service named after the prefix', () => {
    assert.deepEqual(staticBackend({ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }, 'env'), {
      prefix: 'ops',
      service: 'ops',
      source: 'env',
      instances: [{ id: 'ops-127.0.0.1:8001', url: 'http://127.0.0.1:8001/mcp', address: '127.0.0.1', port: 8001, healthy: true }],
    });
  });

  test('an IPv6 address is given without brackets, as Consul gives it', () => {
    const spec = staticBackend({ prefix: 'ops', url: 'http://[::1]:8001/mcp' }, 'static');
    assert.equal(spec.instances[0]?.address, '::1');
    assert.equal(spec.instances[0]?.url, 'http://[::1]:8001/mcp');
  });

  const ports: [string, number][] = [
    ['http://ops.internal/mcp', 80],
    ['https://ops.internal/mcp', 443],
    ['https://ops.internal:8443/mcp', 8443],
  ];
  for (const [url, port] of ports) {
    test(`${url} gives port ${port}`, () => {
      const spec = staticBackend({ prefix: 'ops', url }, 'static');
      assert.equal(spec.instances[0]?.port, port);
      assert.equal(spec.instances[0]?.address, 'ops.internal');
      assert.equal(spec.instances[0]?.url, url);
    });
  }

  test('headers pass through when given and are absent otherwise', () => {
    const withHeaders = staticBackend({ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp', headers: { Authorization: 'Bearer backend-token' } }, 'static');
    assert.deepEqual(withHeaders.headers, { Authorization: 'Bearer backend-token' });
    assert.ok(!('headers' in staticBackend({ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }, 'static')));
  });
});

describe('StaticSource', () => {
  test('emits one frozen snapshot named after the source', async () => {
    const source = new StaticSource('static', [{ prefix: 'ops', url: 'http://127.0.0.1:8001/mcp' }, { prefix: 'hr', url: 'http://127.0.0.1:8002/mcp' }]);
    const seen: Snapshot[] = [];
    await source.start((s) => seen.push(s));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.source, 'static');
    assert.deepEqual(seen[0]!.backends.map((b) => [b.prefix, b.source]), [['ops', 'static'], ['hr', 'static']]);
    assert.ok(Object.isFrozen(seen[0]) && Object.isFrozen(seen[0]!.backends[0]!.instances[0]));
    await source.close();
  });
});
