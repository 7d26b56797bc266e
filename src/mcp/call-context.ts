// Per-request context: the request id and principal, and what routing learned (tool,
// backend, instance, status) for the one request-log line. Entries of requests handed to a
// session's SDK server are found again by (session, JSON-RPC id): an AsyncLocalStorage would
// do it too, but on Node 20 it turns on promise hooks for every promise in the process.

export type RequestStatus = 'ok' | 'error' | 'denied' | 'rate_limited';

export interface RequestEntry {
  reqId: string;
  method?: string | undefined;
  rpcId?: unknown;
  sessionId?: string | undefined;
  principal: string;
  tool?: string;
  backend?: string;
  instance?: string;
  status?: RequestStatus;
  error?: string;
  /** Time spent waiting for the backend, ms. */
  upstreamMs?: number;
  /** Headers passed on to the backend (W3C trace context). */
  trace?: Record<string, string>;
  /** The OpenTelemetry span of this request, when tracing is on. */
  span?: { end(attributes: Record<string, string | number | undefined>, failed: boolean): void };
}

const pending = new Map<string, RequestEntry>();

function keyOf(sessionId: string | undefined, rpcId: unknown): string {
  return `${sessionId ?? ''}\0${typeof rpcId}:${String(rpcId)}`;
}

/** Makes `entries` findable by the SDK handlers while their request runs; returns the undo. */
export function trackEntries(sessionId: string | undefined, entries: readonly RequestEntry[]): () => void {
  if (!sessionId || entries.length === 0) return () => undefined;
  const keys = entries.map((entry) => keyOf(sessionId, entry.rpcId));
  entries.forEach((entry, i) => pending.set(keys[i]!, entry));
  return () => {
    for (const key of keys) pending.delete(key);
  };
}

/** The log entry of the JSON-RPC request `rpcId` of session `sessionId`, if it is being logged. */
export function currentEntry(sessionId: string | undefined, rpcId: unknown): RequestEntry | undefined {
  return pending.get(keyOf(sessionId, rpcId));
}
