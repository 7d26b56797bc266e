// Cancelling a call. An AbortController made per call cost more than the rest of the call's
// bookkeeping (its AbortSignal is an EventTarget with a listener map; 14 µs a call in a
// profile). The fast path makes a Cancel instead: to the call path it looks like a signal (the
// members that path uses), and it becomes a real AbortSignal only for the APIs that insist on
// one (the SDK client, composite steps, timers).

/** What the call path reads of a signal; an AbortSignal is one. */
export interface CancelSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancel implements CancelSource {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }

  /** Cancels once; each listener runs once. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) listener();
  }
}

/** An AbortSignal that follows `source` (`source` itself when it is one). */
export function toAbortSignal(source: CancelSource): AbortSignal {
  if (source instanceof AbortSignal) return source;
  const controller = new AbortController();
  if (source.aborted) controller.abort(source.reason);
  else source.addEventListener('abort', () => controller.abort(source.reason), { once: true });
  return controller.signal;
}
