// Merging the sources' snapshots: priority, conflicts, order, and the aggregator's
// dedupe, burst coalescing and readiness, with in-memory sources.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { pino } from 'pino';
import { DiscoveryAggregator, mergeSnapshots } from '../../src/discovery/aggregator.js';
import type { BackendSpec, Snapshot, Source } from '../../src/discovery/snapshot.js';

const silent = pino({ level: 'silent' });

function backend(prefix: string, source: string, service = prefix, port = 8001): BackendSpec {
  return {
    prefix,
    service,
    source,
    instances: [{ id: `${service}-1`, url: `http://10.0.0.1:${port}/mcp`, address: '10.0.0.1', port, healthy: true }],
  };
}

function snapshot(source: string, ...backends: BackendSpec[]): Snapshot {
  return { source, backends };
}

class FakeSource implements Source {
  private emitFn: ((snapshot: Snapshot) => void) | undefined;
  closed = false;
  constructor(readonly name: string) {}
  async start(emit: (snapshot: Snapshot) => void): Promise<void> {
    this.emitFn = emit;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  emit(...backends: BackendSpec[]): void {
    assert.ok(this.emitFn, 'started');
    this.emitFn(snapshot(this.name, ...backends));
  }
}

/** Lets setImmediate-scheduled flushes run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await tick();
}

describe('mergeSnapshots', () => {
  test('a prefix claimed twice goes to the source listed first, and the loser is reported', () => {
    const latest = new Map([
      ['consul', snapshot('consul', backend('ops', 'consul', 'ops-service'), backend('hr', 'consul'))],
      ['static', snapshot('static', backend('ops', 'static'))],
    ]);
    const staticFirst = mergeSnapshots(['static', 'consul'], latest);
    assert.deepEqual(staticFirst.backends.map((b) => `${b.prefix}@${b.source}`), ['hr@consul', 'ops@static']);
    assert.equal(staticFirst.conflicts.length, 1);
    assert.match(staticFirst.conflicts[0]!, /prefix "ops" of consul service "ops-service" is already taken by static service "ops"/);

    const consulFirst = mergeSnapshots(['consul', 'static'], latest);
    assert.deepEqual(consulFirst.backends.map((b) => `${b.prefix}@${b.source}`), ['hr@consul', 'ops@consul']);
    assert.equal(consulFirst.conflicts.length, 1);
    assert.match(consulFirst.conflicts[0]!, /of static service "ops" is already taken by consul service "ops-service"/);
  });

  test('within one source the first listed keeps the prefix', () => {
    const latest = new Map([['consul', snapshot('consul', backend('ops', 'consul', 'a-ops'), backend('ops', 'consul', 'b-ops'))]]);
    const { backends, conflicts } = mergeSnapshots(['consul'], latest);
    assert.deepEqual(backends.map((b) => b.service), ['a-ops']);
    assert.equal(conflicts.length, 1);
  });

  test('the result is sorted by prefix', () => {
    const latest = new Map([
      ['env', snapshot('env', backend('zeta', 'env'), backend('alpha', 'env'))],
      ['static', snapshot('static', backend('mid', 'static'), backend('beta-2', 'static'), backend('beta', 'static'))],
    ]);
    const { backends, conflicts } = mergeSnapshots(['static', 'env'], latest);
    assert.deepEqual(backends.map((b) => b.prefix), ['alpha', 'beta', 'beta-2', 'mid', 'zeta']);
    assert.deepEqual(conflicts, []);
  });

  test('a source without a snapshot yet, or not in the order, contributes nothing', () => {
    const latest = new Map([['stray', snapshot('stray', backend('ops', 'stray'))], ['static', snapshot('static', backend('hr', 'static'))]]);
    const { backends } = mergeSnapshots(['consul', 'static'], latest);
    assert.deepEqual(backends.map((b) => b.prefix), ['hr']);
  });

  test('nothing in, nothing out', () => {
    assert.deepEqual(mergeSnapshots([], new Map()), { backends: [], conflicts: [] });
  });
});

describe('DiscoveryAggregator', () => {
  async function started(...names: string[]): Promise<{ sources: FakeSource[]; aggregator: DiscoveryAggregator; updates: (readonly BackendSpec[])[] }> {
    const sources = names.map((n) => new FakeSource(n));
    const aggregator = new DiscoveryAggregator(sources, silent);
    const updates: (readonly BackendSpec[])[] = [];
    aggregator.subscribe((backends) => updates.push(backends));
    await aggregator.start();
    return { sources, aggregator, updates };
  }

  test('an unchanged snapshot is dropped: the listener is not called again', async () => {
    const { sources: [consul], aggregator, updates } = await started('consul');
    consul!.emit(backend('ops', 'consul'));
    await settle();
    assert.equal(updates.length, 1);
    // Equal content in new objects.
    consul!.emit(backend('ops', 'consul'));
    await settle();
    consul!.emit(backend('ops', 'consul'));
    await settle();
    assert.equal(updates.length, 1);
    consul!.emit(backend('ops', 'consul', 'ops', 9000));
    await settle();
    assert.equal(updates.length, 2);
    assert.equal(updates[1]![0]!.instances[0]!.port, 9000);
    await aggregator.close();
  });

  test('a burst in one tick becomes one update carrying the latest of each source', async () => {
    const { sources: [consul, env], aggregator, updates } = await started('consul', 'env');
    consul!.emit(backend('ops', 'consul'));
    consul!.emit(backend('ops', 'consul'), backend('hr', 'consul'));
    env!.emit(backend('finance', 'env'));
    consul!.emit(backend('ops', 'consul'), backend('hr', 'consul'), backend('legal', 'consul'));
    await settle();
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0]!.map((b) => b.prefix), ['finance', 'hr', 'legal', 'ops']);
    assert.deepEqual(aggregator.backends, updates[0]);
    await aggregator.close();
  });

  test('an empty first snapshot still counts and is delivered', async () => {
    const { sources: [consul], aggregator, updates } = await started('consul');
    consul!.emit();
    await settle();
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0], []);
    assert.ok(aggregator.ready);
    await aggregator.close();
  });

  test('ready and whenReady() only once every source has emitted', async () => {
    const { sources: [consul, stat], aggregator, updates } = await started('consul', 'static');
    let resolved = false;
    void aggregator.whenReady().then(() => { resolved = true; });
    assert.equal(aggregator.ready, false);

    stat!.emit(backend('ops', 'static'));
    await settle();
    assert.equal(aggregator.ready, false);
    assert.equal(resolved, false);
    assert.equal(updates.length, 1, 'the first source is served before the others are ready');

    consul!.emit(backend('hr', 'consul'));
    await settle();
    assert.equal(aggregator.ready, true);
    assert.equal(resolved, true);
    await aggregator.whenReady();
    await aggregator.close();
  });

  test('merged backends are frozen and use source priority', async () => {
    const { sources: [stat, consul], aggregator, updates } = await started('static', 'consul');
    consul!.emit(backend('ops', 'consul'));
    stat!.emit(backend('ops', 'static'));
    await settle();
    assert.deepEqual(updates.at(-1)!.map((b) => b.source), ['static']);
    assert.ok(Object.isFrozen(aggregator.backends));
    assert.ok(Object.isFrozen(aggregator.backends[0]));
    await aggregator.close();
  });

  test('unsubscribe stops updates; close() closes every source', async () => {
    const sources = [new FakeSource('a'), new FakeSource('b')];
    const aggregator = new DiscoveryAggregator(sources, silent);
    let calls = 0;
    const unsubscribe = aggregator.subscribe(() => { calls += 1; });
    await aggregator.start();
    sources[0]!.emit(backend('x', 'a'));
    await settle();
    assert.equal(calls, 1);
    unsubscribe();
    sources[0]!.emit(backend('y', 'a'));
    await settle();
    assert.equal(calls, 1);
    await aggregator.close();
    assert.ok(sources.every((s) => s.closed));
  });
});
