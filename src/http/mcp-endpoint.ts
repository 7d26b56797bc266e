// The /mcp endpoint. Reads and checks the body once (size cap, JSON, JSON-RPC shape), finds
// or opens the client session, and either answers a plain tools/call itself (the fast path:
// no per-call transport objects, JSON answer) or hands the request to the session's SDK
// transport. Every JSON-RPC request gets one request-log entry.
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { ANONYMOUS, type Principal } from '../auth/principal.js';
import { trackEntries, type RequestEntry } from '../mcp/call-context.js';
import type { McpRouter } from '../mcp/router.js';
import type { SessionRegistry } from '../mcp/sessions.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimits } from '../ratelimit/limits.js';
import type { Tracer } from '../observability/tracing.js';

export interface McpEndpointOptions {
  sessions: SessionRegistry;
  router: McpRouter;
  maxBodyBytes: number;
  log: Logger;
  /** Calls in flight, for draining at shutdown. */
  inFlight: { count: number };
  /** What of a tool call's arguments the request log shows. */
  logArguments: 'none' | 'keys' | 'full';
  limits?: RateLimits | undefined;
  metrics?: Metrics | undefined;
  /** Present only when tracing is configured. */
  tracer?: () => Tracer | undefined;
}

/** JSON-RPC error code of a rate-limited request (the HTTP status is 429). */
export const RATE_LIMITED_CODE = -32029;

type Message = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };

function rpcError(ctx: Context, status: number, code: number, message: string, id: unknown = null): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Message).jsonrpc === '2.0'
    && (typeof (value as Message).method === 'string' || 'result' in value || 'error' in value);
}

export function mcpEndpoint(options: McpEndpointOptions): (ctx: Context) => Promise<void> {
  const { sessions, router, maxBodyBytes, log, inFlight, logArguments, limits, metrics } = options;
  const TRACED = new Set(['tools/call', 'prompts/get', 'resources/read', 'completion/complete']);

  function logEntries(entries: RequestEntry[], started: number, httpStatus: () => number): void {
    const elapsed = performance.now() - started;
    const logRequests = log.isLevelEnabled('info');
    const durationMs = Math.round(elapsed * 100) / 100;
    for (const entry of entries) {
      if (entry.method === undefined) continue;
      const status = entry.status ?? (httpStatus() < 400 ? 'ok' : 'error');
      if (logRequests) log.info({ ...entry, rpcId: undefined, trace: undefined, span: undefined, upstreamMs: undefined, status, durationMs }, 'mcp request');
      entry.span?.end({ 'mcp.tool': entry.tool, 'mcp.backend': entry.backend, 'mcp.instance': entry.instance, 'mcp.status': status, 'enduser.id': entry.principal }, status === 'error');
      if (metrics) {
        metrics.requests.inc({ method: entry.method, tool: entry.tool ?? '', backend: entry.backend ?? '', status });
        metrics.duration.observe({ method: entry.method, status }, elapsed / 1000);
        if (entry.backend && entry.upstreamMs !== undefined) metrics.backendDuration.observe({ backend: entry.backend }, entry.upstreamMs / 1000);
      }
    }
  }

  /** Consumes rate-limit points for each request; answers 429 and returns false when refused. */
  async function admit(ctx: Context, entries: RequestEntry[], messages: Message[], principal: Principal, started: number): Promise<boolean> {
    if (!limits) return true;
    for (const message of messages) {
      if (typeof message.method !== 'string' || message.id === undefined) continue;
      // Calls made through gateway__call_tool count against the tool they call.
      const name = message.method === 'tools/call' ? router.calledTool(message.params as { name?: unknown } | undefined, principal) : undefined;
      // Prompts and resource reads count against their backend's rule too.
      const backend = name ? router.backendOf(name, principal) : router.backendOfRequest(message.method, message.params, principal);
      const outcome = await limits.consume(principal, message.method, backend ? name : undefined, backend);
      if (outcome.ok) {
        if (outcome.admission) {
          ctx.set('RateLimit-Limit', String(outcome.admission.limit));
          ctx.set('RateLimit-Remaining', String(outcome.admission.remaining));
          ctx.set('RateLimit-Reset', String(outcome.admission.resetSeconds));
        }
        continue;
      }
      const { rule, limit, retryAfterSeconds, resetSeconds } = outcome.rejection;
      for (const entry of entries) {
        entry.status = 'rate_limited';
        if (entry.rpcId === message.id && name) {
          entry.tool = name;
          if (backend) entry.backend = backend;
        }
      }
      ctx.set('Retry-After', String(retryAfterSeconds));
      ctx.set('RateLimit-Limit', String(limit));
      ctx.set('RateLimit-Remaining', '0');
      ctx.set('RateLimit-Reset', String(resetSeconds));
      ctx.status = 429;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: RATE_LIMITED_CODE, message: `Rate limit exceeded (${rule}); retry in ${retryAfterSeconds} s`, data: { rule, retryAfterSeconds } },
      });
      logEntries(entries, started, () => 429);
      return false;
    }
    return true;
  }

  return async (ctx) => {
    const started = performance.now();
    const reqId = (ctx.state as { reqId?: string }).reqId ?? randomUUID();
    const principal = (ctx.state as { principal?: Principal }).principal ?? ANONYMOUS;
    const sessionHeader = ctx.get('mcp-session-id') || undefined;

    if (ctx.method !== 'POST') {
      if (ctx.method !== 'GET' && ctx.method !== 'DELETE') {
        ctx.set('Allow', 'GET, POST, DELETE');
        return rpcError(ctx, 405, -32000, 'Method not allowed.');
      }
      const session = sessionHeader ? sessions.get(sessionHeader) : undefined;
      if (!sessionHeader) return rpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      // Another principal's session id is treated as unknown: sessions are not transferable.
      if (!session || session.principal.id !== principal.id) return rpcError(ctx, 404, -32001, 'Session not found');
      session.lastSeen = Date.now();
      if (ctx.method === 'GET') {
        session.streams += 1;
        ctx.res.once('close', () => { session.streams -= 1; session.lastSeen = Date.now(); });
      }
      ctx.respond = false;
      await sessions.handle(session.transport, ctx.req, ctx.res);
      return;
    }

    let body: unknown;
    try {
      const raw = await getRawBody(ctx.req, { limit: maxBodyBytes, length: ctx.get('content-length') || undefined, encoding: 'utf8' });
      body = JSON.parse(raw);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 413) return rpcError(ctx, 413, -32600, `Request body larger than ${maxBodyBytes} bytes`);
      if (status && status < 500) return rpcError(ctx, status, -32600, (error as Error).message);
      return rpcError(ctx, 400, -32700, 'Parse error: body is not valid JSON');
    }
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    if (messages.length === 0 || !messages.every(isMessage)) {
      return rpcError(ctx, 400, -32600, 'Invalid Request: expected JSON-RPC 2.0 message(s)');
    }
    const entries: RequestEntry[] = (messages)
      .filter((m) => typeof m.method === 'string' && m.id !== undefined)
      .map((m) => ({ reqId, method: m.method as string, rpcId: m.id, sessionId: sessionHeader, principal: principal.id, ...argumentsField(m), ...traceField(ctx) }));
    const isInitialize = (messages).some((m) => m.method === 'initialize');
    const tracer = options.tracer?.();
    if (tracer) {
      for (const entry of entries) {
        if (!entry.method || !TRACED.has(entry.method)) continue;
        const span = tracer.start(`mcp ${entry.method}`, { traceparent: ctx.get('traceparent') || undefined, tracestate: ctx.get('tracestate') || undefined }, { 'mcp.method': entry.method, 'mcp.session.id': entry.sessionId });
        entry.span = span;
        entry.trace = span.headers();
      }
    }

    let session = sessionHeader ? sessions.get(sessionHeader) : undefined;
    if (session && session.principal.id !== principal.id) session = undefined;
    if (sessionHeader && !session) {
      for (const entry of entries) entry.status = 'error';
      logEntries(entries, started, () => 404);
      return rpcError(ctx, 404, -32001, 'Session not found');
    }

    if (session) session.lastSeen = Date.now();
    if (!(await admit(ctx, entries, messages, principal, started))) return;
    if (session) {
      // A cancellation may be for a call on the fast path, which the SDK server never saw.
      for (const m of messages) {
        if (m.method === 'notifications/cancelled') session.inflight.get((m.params as { requestId?: unknown } | undefined)?.requestId)?.abort();
      }
    }

    const single = messages.length === 1 ? (messages[0] as Message) : undefined;
    if (session && single?.method === 'tools/call' && single.id !== undefined && isFastPathCall(single.params) && !canBeAsked(session.server)) {
      inFlight.count += 1;
      const entry = entries[0]!;
      const controller = new AbortController();
      session.inflight.set(single.id, controller);
      // A client that goes away cancels its call too.
      const onClose = (): void => { if (!ctx.res.writableFinished) controller.abort(); };
      ctx.res.once('close', onClose);
      try {
        const result = await router.callTool(single.params as Record<string, unknown>, { principal, entry, signal: controller.signal });
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ jsonrpc: '2.0', id: single.id, result });
      } catch (error) {
        entry.status = 'error';
        const code = error instanceof McpError ? error.code : -32603;
        const message = error instanceof McpError ? error.message.replace(/^MCP error -?\d+: /, '') : 'Internal error';
        if (!(error instanceof McpError)) log.error({ reqId, err: (error as Error).message }, 'tools/call failed');
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ jsonrpc: '2.0', id: single.id, error: { code, message } });
      } finally {
        session.inflight.delete(single.id);
        ctx.res.off('close', onClose);
        inFlight.count -= 1;
        logEntries(entries, started, () => 200);
      }
      return;
    }

    let transport = session?.transport;
    if (!transport) {
      if (!isInitialize) return rpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      transport = sessions.create(principal);
    }
    ctx.respond = false;
    const res = ctx.res;
    res.once('finish', () => {
      if (isInitialize && transport.sessionId) for (const entry of entries) entry.sessionId = transport.sessionId;
      logEntries(entries, started, () => res.statusCode);
    });
    // An SSE answer outlives handleRequest(): the call is in flight until the socket closes.
    inFlight.count += 1;
    res.once('close', () => { inFlight.count -= 1; });
    const untrack = trackEntries(transport.sessionId, entries);
    res.once('close', untrack);
    await sessions.handle(transport, ctx.req, res, body);
  };

  /** W3C trace context from the client, passed on to the backend. */
  function traceField(ctx: Context): { trace?: Record<string, string> } {
    const traceparent = ctx.get('traceparent');
    if (!traceparent) return {};
    const tracestate = ctx.get('tracestate');
    return { trace: tracestate ? { traceparent, tracestate } : { traceparent } };
  }

  function argumentsField(message: Message): { arguments?: unknown } {
    if (logArguments === 'none' || message.method !== 'tools/call') return {};
    const args = (message.params as { arguments?: unknown } | undefined)?.arguments;
    if (!args || typeof args !== 'object') return {};
    return { arguments: logArguments === 'full' ? args : Object.keys(args) };
  }
}

/**
 * A client that can answer sampling, elicitation or roots requests needs the SDK path, which
 * relays a backend's requests; for the others the fast path answers such requests itself.
 */
function canBeAsked(server: { getClientCapabilities(): { sampling?: unknown; elicitation?: unknown; roots?: unknown } | undefined }): boolean {
  const caps = server.getClientCapabilities();
  return caps !== undefined && (caps.sampling !== undefined || caps.elicitation !== undefined || caps.roots !== undefined);
}

/** Calls that need nothing of the stream: no progress token, so a JSON answer says it all. */
function isFastPathCall(params: unknown): boolean {
  if (typeof params !== 'object' || params === null) return false;
  const meta = (params as { _meta?: { progressToken?: unknown } })._meta;
  return typeof (params as { name?: unknown }).name === 'string' && meta?.progressToken === undefined;
}
