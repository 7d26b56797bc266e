// Per-request context carried through async calls: the request id and principal, and what
// routing learned (tool, backend, instance, status) for the one request-log line.
import { AsyncLocalStorage } from 'node:async_hooks';

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

export const requestContext = new AsyncLocalStorage<RequestEntry[]>();

/** The entry of the JSON-RPC request being handled (by method and id), if logging is on. */
export function currentEntry(method: string, rpcId?: unknown): RequestEntry | undefined {
  const entries = requestContext.getStore();
  if (!entries) return undefined;
  return entries.find((e) => e.method === method && (rpcId === undefined || e.rpcId === rpcId)) ?? entries[0];
}
