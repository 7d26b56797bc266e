// The catalog as a pure function of the backends' tool lists: routes, origin metadata,
// order, a content key that moves only with content, and scale.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { buildCatalog, META_KEY, type BackendLists } from '../../src/catalog/catalog.js';
import type { NamingOptions } from '../../src/catalog/naming.js';

const DEFAULTS: NamingOptions = { separator: '__', maxLength: 64, prefix: 'always' };
const NEVER: NamingOptions = { ...DEFAULTS, prefix: 'never' };
const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

function tool(name: string, extra: Partial<Tool> = {}): Tool {
  return { name, description: `the ${name} tool`, inputSchema: { type: 'object', properties: {} }, ...extra };
}

function fleet(): BackendLists[] {
  return [
    { prefix: 'ops', tools: [tool('search'), tool('lookup_inventory'), tool('files.read')] },
    { prefix: 'hr', tools: [tool('search'), tool('search_policy', { _meta: { 'example.com/owner': 'hr-team' } })] },
    { prefix: 'finance', tools: [tool('search')] },
  ];
}

describe('buildCatalog', () => {
  test('routes map each exposed name to its backend and original name', () => {
    const catalog = buildCatalog(fleet(), DEFAULTS, 7);
    assert.equal(catalog.version, 7);
    const routes = Object.fromEntries([...catalog.routes].map(([exposed, r]) => [exposed, `${r.prefix}/${r.original}`]));
    const filesRead = [...catalog.routes.values()].find((r) => r.original === 'files.read');
    assert.ok(filesRead);
    assert.match(filesRead.exposed, /^ops__files_read_[0-9a-f]{8}$/);
    assert.deepEqual(routes, {
      finance__search: 'finance/search',
      hr__search: 'hr/search',
      hr__search_policy: 'hr/search_policy',
      ops__lookup_inventory: 'ops/lookup_inventory',
      ops__search: 'ops/search',
      [filesRead.exposed]: 'ops/files.read',
    });
    for (const [exposed, route] of catalog.routes) {
      assert.equal(route.exposed, exposed);
      assert.equal(route.tool.name, exposed);
      assert.match(exposed, SAFE);
    }
    assert.deepEqual(catalog.collisions, []);
  });

  test('_meta records the origin and keeps what the backend put there', () => {
    const input = fleet();
    const catalog = buildCatalog(input, DEFAULTS, 1);
    const policy = catalog.routes.get('hr__search_policy')?.tool;
    assert.ok(policy);
    assert.deepEqual(policy._meta, { 'example.com/owner': 'hr-team', [META_KEY]: { backend: 'hr', name: 'search_policy' } });
    const search = catalog.routes.get('ops__search')?.tool;
    assert.deepEqual(search?._meta, { [META_KEY]: { backend: 'ops', name: 'search' } });
    // Everything else of the tool passes through; the backend's own object is untouched.
    assert.equal(policy.description, 'the search_policy tool');
    assert.deepEqual(policy.inputSchema, { type: 'object', properties: {} });
    assert.equal(input[1]!.tools[1]!.name, 'search_policy');
    assert.deepEqual(input[1]!.tools[1]!._meta, { 'example.com/owner': 'hr-team' });
  });

  test('tools are sorted by exposed name and match the routes', () => {
    const catalog = buildCatalog(fleet(), DEFAULTS, 1);
    const names = catalog.tools.map((t) => t.name);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual([...names].sort(), [...catalog.routes.keys()].sort());
    assert.equal(names[0], 'finance__search');
  });

  test('the catalog and its tools are frozen', () => {
    const catalog = buildCatalog(fleet(), DEFAULTS, 1);
    assert.ok(Object.isFrozen(catalog));
    assert.ok(Object.isFrozen(catalog.tools));
    assert.ok(Object.isFrozen(catalog.tools[0]));
    assert.ok(Object.isFrozen(catalog.routes.get('ops__search')));
  });

  test('the key is equal for equal content, whatever the backend order or version', () => {
    const a = buildCatalog(fleet(), DEFAULTS, 1);
    const b = buildCatalog([...fleet()].reverse(), DEFAULTS, 2);
    assert.equal(a.key, b.key);
    assert.notEqual(a.key, '');
  });

  const changes: [string, (backends: BackendLists[]) => void][] = [
    ['a description changes', (b) => { (b[0]!.tools[0] as { description?: string }).description = 'new words'; }],
    ['an input schema changes', (b) => { (b[0]!.tools[0] as { inputSchema: unknown }).inputSchema = { type: 'object', properties: { q: { type: 'string' } } }; }],
    ['a tool is added', (b) => { (b[2]!.tools as Tool[]).push(tool('report')); }],
    ['a backend leaves', (b) => { b.pop(); }],
  ];
  for (const [label, change] of changes) {
    test(`the key changes when ${label}`, () => {
      const before = buildCatalog(fleet(), DEFAULTS, 1);
      const backends = fleet();
      change(backends);
      assert.notEqual(buildCatalog(backends, DEFAULTS, 1).key, before.key);
    });
  }

  test('collisions are resolved and reported (prefix mode never)', () => {
    const catalog = buildCatalog(fleet(), NEVER, 1);
    assert.equal(catalog.routes.get('search')?.prefix, 'finance');
    assert.equal(catalog.routes.get('hr__search')?.prefix, 'hr');
    assert.equal(catalog.routes.get('ops__search')?.prefix, 'ops');
    assert.equal(catalog.routes.get('lookup_inventory')?.prefix, 'ops');
    assert.equal(catalog.collisions.length, 2);
    assert.deepEqual(catalog.routes.get('hr__search')?.tool._meta?.[META_KEY], { backend: 'hr', name: 'search' });
  });

  test('no backends: an empty catalog', () => {
    const catalog = buildCatalog([], DEFAULTS, 3);
    assert.equal(catalog.routes.size, 0);
    assert.deepEqual(catalog.tools, []);
  });

  test('a large catalog (1,000 backends × 5 tools) builds with every name unique and valid', () => {
    const backends: BackendLists[] = Array.from({ length: 1000 }, (_, i) => ({
      prefix: `svc-${i}`,
      tools: ['search', 'get', 'list.items', 'x'.repeat(70), '조회'].map((n) => tool(n)),
    }));
    const catalog = buildCatalog(backends, DEFAULTS, 1);
    assert.equal(catalog.routes.size, 5000);
    assert.equal(catalog.tools.length, 5000);
    for (const name of catalog.routes.keys()) assert.match(name, SAFE);
    assert.deepEqual(catalog.collisions, []);
    const never = buildCatalog(backends, NEVER, 1);
    assert.equal(never.routes.size, 5000);
    for (const name of never.routes.keys()) assert.match(name, SAFE);
  });
});
