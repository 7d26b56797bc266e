// The /mcp endpoint, on Node's own request and response (not Koa: every call comes through
// here, and Koa's context, router and response machinery cost a sixth of the hop's CPU).
// Request id, auth and the Origin/Host guard first, as the Koa views have them; then it reads
// and checks the body once (size cap, JSON, JSON-RPC shape), finds or opens the client
// session, and either answers a plain tools/call itself (the fast path: no per-call transport
// objects, JSON answer) or hands the request to the session's SDK transport. Every JSON-RPC
// request gets one request-log entry.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { trackEntries, type RequestEntry } from '../mcp/call-context.js';
import type { McpRouter } from '../mcp/router.js';
import type { SessionRegistry } from '../mcp/sessions.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimits } from '../ratelimit/limits.js';
import type { Tracer } from '../observability/tracing.js';
import { Cancel } from '../upstream/cancel.js';
import { RawResult } from '../upstream/rpc.js';
import { isRefusal, refusalBody, type Refusal } from './auth.js';
import { BodyError, readBody } from './body.js';

export interface McpEndpointOptions {
  /** The principal behind an Authorization header, or why not (see auth.ts). */
  authenticate: (authorization: string | undefined) => Principal | Refusal | Promise<Principal | Refusal>;
  /** Why a Host/Origin pair is refused, if it is (see auth.ts). */
  guardOrigin: (host: string | undefined, origin: string | undefined) => string | undefined;
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

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a whole JSON answer with its request id; headers set earlier (rate limits, auth
 * challenges) go with it. The request id is not set earlier on purpose: with no header set
 * before it, writeHead skips merging, on every call.
 */
function sendJson(res: ServerResponse, reqId: string, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': reqId });
  res.end(body);
}

function rpcError(res: ServerResponse, reqId: string, status: number, code: number, message: string, id: unknown = null): void {
  sendJson(res, reqId, status, JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }));
}

/** One request header as a string (a repeated one: its first value). */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Message).jsonrpc === '2.0'
    && (typeof (value as Message).method === 'string' || 'result' in value || 'error' in value);
}

export function mcpEndpoint(options: McpEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
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
  async function admit(res: ServerResponse, reqId: string, entries: RequestEntry[], messages: Message[], principal: Principal, started: number): Promise<boolean> {
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
          res.setHeader('RateLimit-Limit', String(outcome.admission.limit));
          res.setHeader('RateLimit-Remaining', String(outcome.admission.remaining));
          res.setHeader('RateLimit-Reset', String(outcome.admission.resetSeconds));
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
      res.setHeader('Retry-After', String(retryAfterSeconds));
      res.setHeader('RateLimit-Limit', String(limit));
      res.setHeader('RateLimit-Remaining', '0');
      res.setHeader('RateLimit-Reset', String(resetSeconds));
      sendJson(res, reqId, 429, JSON.stringify({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: RATE_LIMITED_CODE, message: `Rate limit exceeded (${rule}); retry in ${retryAfterSeconds} s`, data: { rule, retryAfterSeconds } },
      }));
      logEntries(entries, started, () => 429);
      return false;
    }
    return true;
  }

  return async (req, res) => {
    const started = performance.now();
    const headers = req.headers;
    const reqId = header(headers, 'x-request-id') || randomUUID();
    try {
      const checked = options.authenticate(header(headers, 'authorization'));
      // API keys and auth off answer at once; only a JWT check is worth a turn of the loop.
      const outcome = checked instanceof Promise ? await checked : checked;
      if (isRefusal(outcome)) {
        for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
        return sendJson(res, reqId, outcome.status, refusalBody(outcome));
      }
      const refused = options.guardOrigin(header(headers, 'host'), header(headers, 'origin'));
      if (refused) return rpcError(res, reqId, 403, -32000, refused);
      await handle(req, res, headers, reqId, outcome, started);
    } catch (error) {
      log.error({ reqId, err: (error as Error).message }, 'mcp request failed');
      if (!res.headersSent) rpcError(res, reqId, 500, -32603, 'Internal error');
      else res.destroy();
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse, headers: IncomingHttpHeaders, reqId: string, principal: Principal, started: number): Promise<void> {
    const sessionHeader = header(headers, 'mcp-session-id') || undefined;

    if (req.method !== 'POST') {
      if (req.method !== 'GET' && req.method !== 'DELETE') {
        res.setHeader('Allow', 'GET, POST, DELETE');
        return rpcError(res, reqId, 405, -32000, 'Method not allowed.');
      }
      const session = sessionHeader ? sessions.get(sessionHeader) : undefined;
      if (!sessionHeader) return rpcError(res, reqId, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      // Another principal's session id is treated as unknown: sessions are not transferable.
      if (!session || session.principal.id !== principal.id) return rpcError(res, reqId, 404, -32001, 'Session not found');
      session.lastSeen = Date.now();
      if (req.method === 'GET') {
        session.streams += 1;
        res.once('close', () => { session.streams -= 1; session.lastSeen = Date.now(); });
      }
      res.setHeader('x-request-id', reqId);
      await sessions.handle(session.transport, req, res);
      return;
    }

    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, maxBodyBytes)).toString('utf8'));
    } catch (error) {
      if (error instanceof BodyError && error.status === 413) {
        // The rest of the body is not read: the connection cannot carry another request.
        res.setHeader('connection', 'close');
        return rpcError(res, reqId, 413, -32600, `Request body larger than ${maxBodyBytes} bytes`);
      }
      if (error instanceof BodyError) return rpcError(res, reqId, error.status, -32600, error.message);
      return rpcError(res, reqId, 400, -32700, 'Parse error: body is not valid JSON');
    }
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    if (messages.length === 0 || !messages.every(isMessage)) {
      return rpcError(res, reqId, 400, -32600, 'Invalid Request: expected JSON-RPC 2.0 message(s)');
    }
    const trace = traceField(headers);
    const entries: RequestEntry[] = (messages)
      .filter((m) => typeof m.method === 'string' && m.id !== undefined)
      .map((m) => ({ reqId, method: m.method as string, rpcId: m.id, sessionId: sessionHeader, principal: principal.id, ...argumentsField(m), ...trace }));
    const isInitialize = (messages).some((m) => m.method === 'initialize');
    const tracer = options.tracer?.();
    if (tracer) {
      for (const entry of entries) {
        if (!entry.method || !TRACED.has(entry.method)) continue;
        const span = tracer.start(`mcp ${entry.method}`, { traceparent: header(headers, 'traceparent') || undefined, tracestate: header(headers, 'tracestate') || undefined }, { 'mcp.method': entry.method, 'mcp.session.id': entry.sessionId });
        entry.span = span;
        entry.trace = span.headers();
      }
    }

    let session = sessionHeader ? sessions.get(sessionHeader) : undefined;
    if (session && session.principal.id !== principal.id) session = undefined;
    if (sessionHeader && !session) {
      for (const entry of entries) entry.status = 'error';
      logEntries(entries, started, () => 404);
      return rpcError(res, reqId, 404, -32001, 'Session not found');
    }

    if (session) session.lastSeen = Date.now();
    // Without limits there is nothing to wait for: no turn of the event loop either.
    if (limits && !(await admit(res, reqId, entries, messages, principal, started))) return;
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
      const cancel = new Cancel();
      session.inflight.set(single.id, cancel);
      // A client that goes away cancels its call too.
      const onClose = (): void => { if (!res.writableFinished) cancel.abort(); };
      res.once('close', onClose);
      // The backend's result text as it came: spliced in, neither parsed nor re-encoded. It is
      // answered the moment it is in, from the upstream socket's callback; the bookkeeping up
      // the layers (instance, replica pool, router) follows and is logged as usual.
      const spliced = (result: RawResult): string => `{"jsonrpc":"2.0","id":${JSON.stringify(single.id)},"result":${result.json}}`;
      const onPassthrough = (result: RawResult): void => {
        if (!res.destroyed && !res.headersSent) sendJson(res, reqId, 200, spliced(result));
      };
      let answer: string | undefined;
      let raw: RawResult | undefined;
      try {
        const result = await router.callTool(single.params as Record<string, unknown>, { principal, entry, signal: cancel, onPassthrough });
        // A RawResult has been answered already, from onPassthrough.
        if (result instanceof RawResult) raw = result;
        else answer = JSON.stringify({ jsonrpc: '2.0', id: single.id, result });
      } catch (error) {
        entry.status = 'error';
        const code = error instanceof McpError ? error.code : -32603;
        const message = error instanceof McpError ? error.message.replace(/^MCP error -?\d+: /, '') : 'Internal error';
        if (!(error instanceof McpError)) log.error({ reqId, err: (error as Error).message }, 'tools/call failed');
        answer = JSON.stringify({ jsonrpc: '2.0', id: single.id, error: { code, message } });
      } finally {
        session.inflight.delete(single.id);
        res.off('close', onClose);
        inFlight.count -= 1;
      }
      if (answer !== undefined && !res.destroyed && !res.headersSent) sendJson(res, reqId, 200, answer);
      // Looked inside only once the answer is out: for the log's status, and to flag a backend
      // whose text is not JSON (its client's SDK refuses the answer too).
      if (raw) settle(entry, raw);
      logEntries(entries, started, () => 200);
      return;
    }

    let transport = session?.transport;
    if (!transport) {
      if (!isInitialize) return rpcError(res, reqId, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      transport = sessions.create(principal);
    }
    res.once('finish', () => {
      if (isInitialize && transport.sessionId) for (const entry of entries) entry.sessionId = transport.sessionId;
      logEntries(entries, started, () => res.statusCode);
    });
    // An SSE answer outlives handleRequest(): the call is in flight until the socket closes.
    inFlight.count += 1;
    res.once('close', () => { inFlight.count -= 1; });
    const untrack = trackEntries(transport.sessionId, entries);
    res.once('close', untrack);
    res.setHeader('x-request-id', reqId);
    await sessions.handle(transport, req, res, body);
  }

  function settle(entry: RequestEntry, result: RawResult): void {
    try {
      if (result.value().isError === true) entry.status = 'error';
    } catch {
      entry.status = 'error';
      entry.error = 'backend answered a result that is not JSON';
      log.warn({ reqId: entry.reqId, backend: entry.backend, instance: entry.instance }, 'backend answered a result that is not JSON; passed on as it came');
    }
  }

  /** W3C trace context from the client, passed on to the backend. */
  function traceField(headers: IncomingHttpHeaders): { trace?: Record<string, string> } {
    const traceparent = header(headers, 'traceparent');
    if (!traceparent) return {};
    const tracestate = header(headers, 'tracestate');
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
