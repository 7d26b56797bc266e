// One HTTP exchange on an undici dispatcher, for both upstream paths (the lean call path in
// rpc.ts and the SDK transports' fetch in stream-fetch.ts). It is undici's dispatch API rather
// than request(): a call is a few small messages, and request()'s response stream, async
// resource and signal plumbing were a tenth of the hop; a GET stream's keep-alives can be
// dropped before any stream object sees them.
import type { Dispatcher } from 'undici';
import type { CancelSource } from './cancel.js';

export interface Exchange {
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string | null | undefined;
  signal?: CancelSource | undefined;
  /** Called too when the signal aborts the exchange (one listener does both). */
  onAbort?: (() => void) | undefined;
  /** Until the answer's headers, then between body chunks; undefined: the dispatcher's own. */
  timeoutMs?: number | undefined;
}

/** Takes a response body as it arrives. */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
}

/** The value of a response header (a repeated one: its first), '' when absent. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** A URL's origin and path as undici takes them, made once per URL (sessions keep theirs). */
const targets = new WeakMap<URL, { origin: string; path: string }>();

function targetOf(url: URL): { origin: string; path: string } {
  let target = targets.get(url);
  if (!target) targets.set(url, (target = { origin: url.origin, path: url.pathname + url.search }));
  return target;
}

/**
 * Sends one request; `onStart` picks the body's sink once the final status and headers are
 * in (it gets the controller, to pause, resume or abort the body), `onError` hears of any
 * failure (connect, timeout, abort, reset).
 */
export function exchange(
  dispatcher: Dispatcher,
  url: URL,
  init: Exchange,
  onStart: (status: number, headers: Record<string, string | string[] | undefined>, controller: Dispatcher.DispatchController) => BodySink,
  onError: (error: Error) => void,
): void {
  const { signal } = init;
  const abortReason = (): Error => (signal?.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
  if (signal?.aborted) return onError(abortReason());
  let controller: Dispatcher.DispatchController | undefined;
  let sink: BodySink | undefined;
  const onAbort = (): void => {
    controller?.abort(abortReason());
    init.onAbort?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const { origin, path } = targetOf(url);
  const options: Dispatcher.DispatchOptions = { origin, path, method: init.method, headers: init.headers, body: init.body ?? null };
  if (init.timeoutMs) {
    options.headersTimeout = init.timeoutMs;
    options.bodyTimeout = init.timeoutMs;
  }
  dispatcher.dispatch(options, {
    onRequestStart(c) {
      controller = c;
      if (signal?.aborted) c.abort(abortReason());
    },
    onResponseStart(c, statusCode, headers) {
      // 1xx informational answers come first: only the final status picks the sink.
      if (statusCode < 200) return;
      sink = onStart(statusCode, headers, c);
    },
    onResponseData(_c, chunk) {
      sink?.data(chunk);
    },
    onResponseEnd() {
      signal?.removeEventListener('abort', onAbort);
      sink?.end();
    },
    onResponseError(_c, error) {
      signal?.removeEventListener('abort', onAbort);
      onError(error);
    },
  });
}
