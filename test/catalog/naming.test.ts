// Exposed names (CONTRACT §2): valid for every client, deterministic, unique, collisions
// resolved by the documented rule, and a warning for separators that break the rule.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignNames,
  candidateName,
  CLIENT_SAFE_NAME,
  hashedName,
  separatorWarning,
  type NamedItem,
  type NamingOptions,
} from '../../src/catalog/naming.js';

const DEFAULTS: NamingOptions = { separator: '__', maxLength: 64, prefix: 'always' };
const NEVER: NamingOptions = { ...DEFAULTS, prefix: 'never' };
const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

const awkward: [string, string][] = [
  ['plain', 'lookup_inventory'],
  ['dots', 'files.read'],
  ['slashes', 'repo/issues/list'],
  ['spaces', 'search the wiki'],
  ['Korean', '문서_검색'],
  ['emoji', 'deploy 🚀'],
  ['tab and newline', 'a\tb\nc'],
  ['very long', 'x'.repeat(300)],
  ['long with dots', 'namespace.'.repeat(20)],
  ['exactly fits (5 + 59)', 'a'.repeat(59)],
  ['one too long (5 + 60)', 'a'.repeat(60)],
  ['empty', ''],
  ['only invalid characters', '...'],
];

const prefixes = ['ops', 'my-team', 'a', 'p'.repeat(32)];

describe('candidateName', () => {
  test('a short, clean name is `<prefix>__<original>`', () => {
    assert.equal(candidateName('ops', 'lookup_inventory', DEFAULTS), 'ops__lookup_inventory');
    assert.equal(candidateName('my-team', 'Get-Thing', DEFAULTS), 'my-team__Get-Thing');
  });

  for (const [label, original] of awkward) {
    for (const prefix of prefixes) {
      test(`${label} under prefix "${prefix.slice(0, 8)}" gives a client-safe name`, () => {
        const name = candidateName(prefix, original, DEFAULTS);
        assert.match(name, SAFE);
        assert.match(name, CLIENT_SAFE_NAME);
        assert.ok(name.startsWith(prefix.slice(0, 40)), `${name} keeps the prefix as its stem`);
      });
    }
    test(`${label} in prefix mode never gives a client-safe name`, () => {
      assert.match(candidateName('ops', original, NEVER), SAFE);
    });
  }

  test('a name that fits exactly is kept as is; one character more is shortened to the limit', () => {
    const fits = candidateName('ops', 'a'.repeat(59), DEFAULTS);
    assert.equal(fits, `ops__${'a'.repeat(59)}`);
    assert.equal(fits.length, 64);
    const shortened = candidateName('ops', 'a'.repeat(60), DEFAULTS);
    assert.equal(shortened.length, 64);
    assert.match(shortened, /^ops__a+_[0-9a-f]{8}$/);
  });

  test('invalid characters become `_` and a hash tells names apart', () => {
    assert.match(candidateName('ops', 'files.read', DEFAULTS), /^ops__files_read_[0-9a-f]{8}$/);
    assert.notEqual(candidateName('ops', 'files.read', DEFAULTS), candidateName('ops', 'files/read', DEFAULTS));
    assert.notEqual(candidateName('ops', 'files.read', DEFAULTS), candidateName('ops', 'files read', DEFAULTS));
  });

  test('is deterministic: the same input gives the same name on every call', () => {
    for (const [, original] of awkward) {
      const first = candidateName('ops', original, DEFAULTS);
      for (let i = 0; i < 3; i += 1) assert.equal(candidateName('ops', original, DEFAULTS), first);
      assert.equal(hashedName('ops', original, DEFAULTS), hashedName('ops', original, DEFAULTS));
    }
  });

  test('long originals sharing a 60-character stem stay distinct', () => {
    const stem = 'query_the_customer_relationship_database_for_accounts_with_'.padEnd(60, 'z');
    const originals = ['open_invoices', 'closed_invoices', 'x', 'y', `${'q'.repeat(100)}1`, `${'q'.repeat(100)}2`].map((s) => stem + s);
    const names = originals.map((o) => candidateName('finance', o, DEFAULTS));
    for (const name of names) assert.match(name, SAFE);
    assert.equal(new Set(names).size, originals.length);
  });

  test('the same original under different prefixes gives different names', () => {
    const long = 'y'.repeat(200);
    assert.notEqual(candidateName('ops', long, DEFAULTS), candidateName('hr', long, DEFAULTS));
    assert.notEqual(candidateName('ops', '검색', DEFAULTS), candidateName('hr', '검색', DEFAULTS));
  });

  test('prefix mode never passes a clean name unchanged', () => {
    for (const original of ['search', 'lookup_inventory', 'Get-Thing', 'a'.repeat(64)]) {
      assert.equal(candidateName('ops', original, NEVER), original);
    }
  });

  test('a smaller maxLength is honoured', () => {
    const options: NamingOptions = { ...DEFAULTS, maxLength: 20 };
    assert.equal(candidateName('ops', 'short', options), 'ops__short');
    const name = candidateName('ops', 'a_rather_long_tool_name', options);
    assert.equal(name.length, 20);
    assert.match(name, SAFE);
  });
});

describe('hashedName', () => {
  test('is the stem cut to fit, `_`, and 8 hex digits', () => {
    const name = hashedName('ops', 'lookup', DEFAULTS);
    assert.match(name, /^ops__lookup_[0-9a-f]{8}$/);
  });

  test('always carries the prefix, even in prefix mode never', () => {
    assert.match(hashedName('ops', 'lookup', NEVER), /^ops__lookup_[0-9a-f]{8}$/);
  });

  test('a longer hash may be asked for and still fits', () => {
    const name = hashedName('ops', 'z'.repeat(100), DEFAULTS, 16);
    assert.equal(name.length, 64);
    assert.match(name, /_[0-9a-f]{16}$/);
  });
});

describe('assignNames', () => {
  interface Tool extends NamedItem { id: number }
  const items = (pairs: [string, string][]): Tool[] => pairs.map(([prefix, original], id) => ({ prefix, original, id }));

  test('distinct tools keep their candidate names, nothing reported', () => {
    const input = items([['ops', 'search'], ['hr', 'search'], ['ops', 'lookup']]);
    const { names, collisions } = assignNames(input, DEFAULTS);
    assert.deepEqual([...names.keys()].sort(), ['hr__search', 'ops__lookup', 'ops__search']);
    assert.equal(names.get('hr__search'), input[1]);
    assert.deepEqual(collisions, []);
  });

  test('prefix mode never: the first in (prefix, original) order keeps the name, the later gets the prefixed form', () => {
    // Input order must not matter: ops is listed first, hr sorts first.
    for (const input of [items([['ops', 'search'], ['hr', 'search']]), items([['hr', 'search'], ['ops', 'search']])]) {
      const { names, collisions } = assignNames(input, NEVER);
      assert.equal(names.get('search')?.prefix, 'hr');
      assert.equal(names.get('ops__search')?.prefix, 'ops');
      assert.equal(names.size, 2);
      assert.equal(collisions.length, 1);
      assert.match(collisions[0]!, /"search" is taken by "search" of "hr"; "search" of "ops" is exposed as "ops__search"/);
    }
  });

  test('prefix mode never: three backends with one tool name', () => {
    const { names, collisions } = assignNames(items([['ops', 'search'], ['hr', 'search'], ['finance', 'search']]), NEVER);
    assert.deepEqual([...names.keys()].sort(), ['hr__search', 'ops__search', 'search']);
    assert.equal(names.get('search')?.prefix, 'finance');
    assert.equal(collisions.length, 2);
  });

  test('prefix mode never: when the prefixed form is taken too, the hashed form is used', () => {
    // hr exposes a tool literally named `ops__search`, which sorts before ops's own.
    const { names, collisions } = assignNames(items([['ops', 'search'], ['hr', 'search'], ['hr', 'ops__search']]), NEVER);
    assert.equal(names.get('search')?.prefix, 'hr');
    assert.equal(names.get('ops__search')?.original, 'ops__search');
    const opsName = [...names].find(([, item]) => item.prefix === 'ops')?.[0];
    assert.equal(opsName, hashedName('ops', 'search', NEVER));
    assert.equal(collisions.length, 1);
  });

  test('prefix mode always: a duplicate name within one backend gets the hashed form and is reported', () => {
    const input = items([['ops', 'search'], ['ops', 'search']]);
    const { names, collisions } = assignNames(input, DEFAULTS);
    assert.equal(names.size, 2);
    assert.equal(names.get('ops__search'), input[0]);
    assert.equal(names.get(hashedName('ops', 'search', DEFAULTS)), input[1]);
    assert.equal(collisions.length, 1);
    assert.match(collisions[0]!, /ops__search/);
  });

  test('prefix mode always: a tool named like another one\'s hashed form does not steal it', () => {
    const hashed = candidateName('ops', 'files.read', DEFAULTS);
    const literal = hashed.slice('ops__'.length);
    const { names, collisions } = assignNames(items([['ops', literal], ['ops', 'files.read']]), DEFAULTS);
    assert.equal(names.size, 2);
    // 'files.read' sorts before 'files_read_…' and so keeps the name.
    assert.equal(names.get(hashed)?.original, 'files.read');
    assert.equal(names.get(hashedName('ops', literal, DEFAULTS))?.original, literal);
    assert.equal(collisions.length, 1);
  });

  test('separator `-`: ambiguous splits collide and the first by prefix keeps the name', () => {
    const options: NamingOptions = { ...DEFAULTS, separator: '-' };
    const { names, collisions } = assignNames(items([['my-team', 'x'], ['my', 'team-x']]), options);
    assert.equal(names.get('my-team-x')?.prefix, 'my');
    assert.equal(names.get(hashedName('my-team', 'x', options))?.prefix, 'my-team');
    assert.equal(collisions.length, 1);
  });

  test('every assigned name is client-safe and unique over an awkward fleet', () => {
    const pairs: [string, string][] = [];
    for (const prefix of prefixes) for (const [, original] of awkward) pairs.push([prefix, original]);
    for (const options of [DEFAULTS, NEVER]) {
      const { names } = assignNames(items(pairs), options);
      assert.equal(names.size, pairs.length);
      for (const name of names.keys()) assert.match(name, SAFE, `${name} (${options.prefix})`);
    }
  });

  test('is deterministic and independent of input order', () => {
    const pairs: [string, string][] = [['ops', 'search'], ['hr', 'search'], ['ops', 'search'], ['finance', 'x'.repeat(90)], ['hr', 'a.b']];
    const forward = assignNames(items(pairs), NEVER);
    const backward = assignNames(items([...pairs].reverse()), NEVER);
    const summary = (a: typeof forward): string[] => [...a.names].map(([n, i]) => `${n}=${i.prefix}/${i.original}`).sort();
    assert.deepEqual(summary(forward), summary(backward));
    assert.deepEqual(forward.collisions, backward.collisions);
  });
});

describe('separatorWarning', () => {
  const cases: [string, NamingOptions, boolean][] = [
    ['`__` (default)', DEFAULTS, false],
    ['`-`', { ...DEFAULTS, separator: '-' }, false],
    ['`_`', { ...DEFAULTS, separator: '_' }, false],
    ['`/` (the seed tutorial)', { ...DEFAULTS, separator: '/' }, true],
    ['`.`', { ...DEFAULTS, separator: '.' }, true],
    ['`::`', { ...DEFAULTS, separator: '::' }, true],
    ['`__` with maxLength 128', { ...DEFAULTS, maxLength: 128 }, true],
    ['`__` with maxLength 32', { ...DEFAULTS, maxLength: 32 }, false],
    ['prefix mode never with maxLength 128', { ...DEFAULTS, prefix: 'never', maxLength: 128 }, true],
    ['prefix mode never with `/` (its collision fallback uses it)', { ...DEFAULTS, prefix: 'never', separator: '/' }, true],
    ['prefix mode never with the defaults', { ...DEFAULTS, prefix: 'never' }, false],
  ];
  for (const [label, options, warns] of cases) {
    test(`${label} ${warns ? 'warns' : 'does not warn'}`, () => {
      const warning = separatorWarning(options);
      if (warns) {
        assert.equal(typeof warning, 'string');
        assert.ok(warning!.includes(options.separator));
      } else {
        assert.equal(warning, undefined);
      }
    });
  }

  test('a bad separator keeps its character in names (which is why it warns)', () => {
    assert.equal(candidateName('ops', 'lookup', { ...DEFAULTS, separator: '/' }), 'ops/lookup');
    assert.equal(candidateName('ops', 'lookup', { ...DEFAULTS, separator: '.' }), 'ops.lookup');
  });
});
