// The fast path's call cancellation: behaves like an AbortSignal where the call path reads
// one, and becomes a real one for the APIs that need it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cancel, toAbortSignal } from '../../src/upstream/cancel.js';

describe('Cancel', () => {
  it('runs each listener still registered once, on the first abort only', () => {
    const cancel = new Cancel();
    const calls: string[] = [];
    const a = (): void => { calls.push('a'); };
    const b = (): void => { calls.push('b'); };
    cancel.addEventListener('abort', a);
    cancel.addEventListener('abort', b);
    cancel.removeEventListener('abort', a);
    assert.equal(cancel.aborted, false);
    cancel.abort();
    cancel.abort(new Error('again'));
    assert.deepEqual(calls, ['b']);
    assert.equal(cancel.aborted, true);
    assert.equal((cancel.reason as Error).name, 'AbortError');
  });

  it('turns into an AbortSignal that follows it, aborted or not yet', () => {
    const later = new Cancel();
    const signal = toAbortSignal(later);
    assert.equal(signal.aborted, false);
    const reason = new Error('client went away');
    later.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);

    const already = new Cancel();
    already.abort(reason);
    assert.equal(toAbortSignal(already).reason, reason);

    const real = new AbortController().signal;
    assert.equal(toAbortSignal(real), real);
  });
});
