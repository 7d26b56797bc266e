// Consul's blocking-query rules, with a scripted fetch instead of Consul: index handling,
// resets, recovery after errors, the poll rate limit and a prompt close().
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { BlockingWatch, type BlockingFetch, type BlockingOptions, type ChangeMeta } from '../../src/discovery/consul/blocking.js';

const silent = pino({ level: 'silent' });

type Step = { index: bigint | undefined; body?: unknown } | Error;

interface Script {
  fetch: BlockingFetch;
  /** The index sent with each request, in order. */
  sent: bigint[];
  /** Resolves once every scripted step has been answered. */
  done: Promise<void>;
}

/**
 * Answers the steps in order; after the last one it answers like a blocking query that
 * timed out (the last successful index again, after a short wait).
 */
function script(steps: Step[]): Script {
  const queue = [...steps];
  const sent: bigint[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  let last: { index: bigint | undefined; body: unknown } = { index: 1n, body: null };
  const fetch: BlockingFetch = async (index) => {
    sent.push(index);
    const step = queue.shift();
    if (step === undefined) {
      finish();
      await sleep(5);
      return last;
    }
    if (step instanceof Error) throw step;
    last = { index: step.index, body: step.body ?? `body@${String(step.index)}` };
    return last;
  };
  return { fetch, sent, done };
}

interface Run {
  changes: { data: unknown; meta: ChangeMeta }[];
  errors: Error[];
  watch: BlockingWatch<unknown>;
}

function watch(fetch: BlockingFetch, options: Partial<BlockingOptions> = {}): Run {
  const run: Run = { changes: [], errors: [], watch: undefined as unknown as BlockingWatch<unknown> };
  run.watch = new BlockingWatch<unknown>(
    fetch,
    (body) => body,
    (data, meta) => { run.changes.push({ data, meta }); },
    (error) => { run.errors.push(error); },
    { name: 'test', waitSeconds: 1, minIntervalMs: 0, maxBackoffMs: 10, log: silent, ...options },
  );
  return run;
}

/** Runs the script to its end, then closes the watch. */
async function play(steps: Step[], options: Partial<BlockingOptions> = {}): Promise<Run & { sent: bigint[] }> {
  const s = script(steps);
  const run = watch(s.fetch, options);
  run.watch.start();
  await s.done;
  await run.watch.close();
  return { ...run, sent: s.sent };
}

const metas = (run: Run): string[] => run.changes.map(({ meta }) => `${meta.reset ? 'reset' : '-'}/${meta.recovered ? 'recovered' : '-'}`);

describe('BlockingWatch', () => {
  test('the first request sends index 0, then each returned index is sent back', async () => {
    const run = await play([{ index: 5n }, { index: 7n }, { index: 12n }]);
    assert.deepEqual(run.sent.slice(0, 4), [0n, 5n, 7n, 12n]);
    assert.deepEqual(run.changes.map((c) => c.data), ['body@5', 'body@7', 'body@12']);
    assert.deepEqual(metas(run), ['-/-', '-/-', '-/-']);
    assert.deepEqual(run.errors, []);
  });

  test('an unchanged index calls no onChange', async () => {
    const run = await play([{ index: 5n }, { index: 5n, body: 'other' }, { index: 5n }, { index: 6n }, { index: 6n }]);
    assert.deepEqual(run.changes.map((c) => c.data), ['body@5', 'body@6']);
    assert.deepEqual(run.sent.slice(0, 6), [0n, 5n, 5n, 5n, 6n, 6n]);
  });

  test('an index going backwards reports reset and the next request carries the lower index', async () => {
    const run = await play([{ index: 100n }, { index: 120n }, { index: 3n }, { index: 4n }]);
    assert.deepEqual(run.sent.slice(0, 5), [0n, 100n, 120n, 3n, 4n]);
    assert.deepEqual(metas(run), ['-/-', '-/-', 'reset/-', '-/-']);
  });

  test('on success index 0 is never sent twice in a row', async () => {
    const run = await play([{ index: 9n }, { index: 0n }, { index: 0n }, { index: undefined }, { index: 2n }, { index: 1n }]);
    assert.equal(run.errors.length, 0);
    for (let i = 1; i < run.sent.length; i += 1) {
      assert.ok(!(run.sent[i] === 0n && run.sent[i - 1] === 0n), `requests ${i - 1} and ${i} both sent index 0: ${run.sent.join(',')}`);
    }
    assert.equal(run.sent.filter((i) => i === 0n).length, 1);
  });

  const zeroes: [string, bigint | undefined][] = [['0', 0n], ['missing', undefined]];
  for (const [label, index] of zeroes) {
    test(`an index ${label} from Consul is sent back as 1`, async () => {
      const run = await play([{ index }, { index: 4n }]);
      assert.deepEqual(run.sent.slice(0, 3), [0n, 1n, 4n]);
      assert.equal(run.changes.length, 2);
    });
  }

  test('an index dropping to 0 mid-stream is a reset and is sent back as 1', async () => {
    const run = await play([{ index: 50n }, { index: 0n }, { index: 2n }]);
    assert.deepEqual(run.sent.slice(0, 4), [0n, 50n, 1n, 2n]);
    assert.deepEqual(metas(run), ['-/-', 'reset/-', '-/-']);
  });

  test('after an error the next request sends index 0 and the next answer reports recovered', async () => {
    const boom = new Error('connect ECONNREFUSED 127.0.0.1:8500');
    const run = await play([{ index: 5n }, boom, { index: 5n }, { index: 6n }]);
    assert.deepEqual(run.sent.slice(0, 5), [0n, 5n, 0n, 5n, 6n]);
    assert.deepEqual(run.errors, [boom]);
    // The same index after recovery is still delivered: the data may be stale otherwise.
    assert.deepEqual(metas(run), ['-/-', '-/recovered', '-/-']);
    assert.equal(run.watch.errors, 1);
  });

  test('several errors in a row: index 0 each time, one recovered answer', async () => {
    const run = await play([{ index: 5n }, new Error('a'), new Error('b'), new Error('c'), { index: 7n }]);
    assert.deepEqual(run.sent.slice(0, 6), [0n, 5n, 0n, 0n, 0n, 7n]);
    assert.equal(run.errors.length, 3);
    assert.deepEqual(metas(run), ['-/-', '-/recovered']);
  });

  test('a Consul restarted empty: error, then a lower index is both recovered and reset', async () => {
    const run = await play([{ index: 1000n }, new Error('socket hang up'), { index: 12n }, { index: 13n }]);
    assert.deepEqual(run.sent.slice(0, 5), [0n, 1000n, 0n, 12n, 13n]);
    assert.deepEqual(metas(run), ['-/-', 'reset/recovered', '-/-']);
  });

  test('an error on the very first request: retried with index 0, not reported as reset', async () => {
    const run = await play([new Error('down'), { index: 3n }]);
    assert.deepEqual(run.sent.slice(0, 3), [0n, 0n, 3n]);
    assert.deepEqual(metas(run), ['-/recovered']);
  });

  test('a payload that fails to parse goes to onError, not onChange, and the loop goes on', async () => {
    const s = script([{ index: 2n, body: 'bad' }, { index: 3n, body: 'good' }]);
    const changes: unknown[] = [];
    const errors: Error[] = [];
    const w = new BlockingWatch<string>(
      s.fetch,
      (body) => { if (body === 'bad') throw new Error('unexpected payload'); return String(body); },
      (data) => { changes.push(data); },
      (error) => { errors.push(error); },
      { name: 'test', waitSeconds: 1, minIntervalMs: 0, maxBackoffMs: 10, log: silent },
    );
    w.start();
    await s.done;
    await w.close();
    assert.deepEqual(changes, ['good']);
    assert.equal(errors.length, 1);
  });

  test('a throwing onChange does not stop the loop', async () => {
    const s = script([{ index: 2n }, { index: 3n }]);
    const seen: unknown[] = [];
    const w = new BlockingWatch<unknown>(
      s.fetch,
      (body) => body,
      (data) => { seen.push(data); throw new Error('handler broke'); },
      () => undefined,
      { name: 'test', waitSeconds: 1, minIntervalMs: 0, maxBackoffMs: 10, log: silent },
    );
    w.start();
    await s.done;
    await w.close();
    assert.deepEqual(seen, ['body@2', 'body@3']);
  });

  test('minIntervalMs spaces the polls when Consul answers at once', async () => {
    let calls = 0;
    let index = 0n;
    // Every answer is a change, as under heavy churn.
    const fetch: BlockingFetch = async () => {
      calls += 1;
      index += 1n;
      return { index, body: null };
    };
    const run = watch(fetch, { minIntervalMs: 100 });
    run.watch.start();
    await sleep(300);
    await run.watch.close();
    // About 3 polls; without the limit this would be thousands.
    assert.ok(calls >= 1 && calls <= 10, `fetched ${calls} times in 300 ms`);
    assert.equal(run.changes.length, calls);
  });

  test('close() ends the loop promptly while it waits between polls', async () => {
    const s = script([{ index: 5n }]);
    const run = watch(s.fetch, { minIntervalMs: 60_000 });
    run.watch.start();
    while (run.changes.length === 0) await sleep(1);
    const started = Date.now();
    await run.watch.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    const count = s.sent.length;
    await sleep(20);
    assert.equal(s.sent.length, count, 'no request after close()');
  });

  test('close() ends the loop promptly while it backs off after errors', async () => {
    let calls = 0;
    const fetch: BlockingFetch = async () => {
      calls += 1;
      throw new Error('down');
    };
    const run = watch(fetch, { maxBackoffMs: 60_000 });
    run.watch.start();
    // Let a few failures happen so the backoff grows.
    while (calls < 3) await sleep(5);
    const started = Date.now();
    await run.watch.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    const count = calls;
    await sleep(20);
    assert.equal(calls, count);
    assert.deepEqual(run.changes, []);
  });

  test('close() before start() and twice is harmless', async () => {
    const s = script([]);
    const run = watch(s.fetch);
    await run.watch.close();
    await run.watch.close();
    assert.equal(s.sent.length, 0);
  });
});
