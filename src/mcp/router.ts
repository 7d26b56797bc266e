// Routes client requests by exposed name or URI to their backend: tools/call, prompts/get,
// resources/read and (un)subscribe, completion/complete. Shared by the fast path and the
// SDK-server path. While a call runs, the backend's progress and log messages and its own
// requests (sampling, elicitation, roots) are relayed to the client session that made it,
// with progress tokens mapped. Protocol faults become JSON-RPC errors; a backend's failure
// during a tool call becomes a result flagged isError naming the backend (CONTRACT §5).
import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type JSONRPCNotification,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { allows, type Principal } from '../auth/principal.js';
import { exposeUri, resolveUri, type Catalog } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import { BackendRpcError, UpstreamError } from '../upstream/errors.js';
import { toAbortSignal, type CancelSource } from '../upstream/cancel.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { RawResult, resultValue, type RequestAnswer, type StreamHandlers } from '../upstream/rpc.js';
import type { RequestEntry } from './call-context.js';
import { CALL_TOOL, type ToolSearch } from './tool-search.js';
import type { Logger } from 'pino';
import type { CompositeEngine } from '../composite/engine.js';
import type { RateLimits } from '../ratelimit/limits.js';

export interface CompositeWiring {
  engine: CompositeEngine;
  /** Each step of a composite tool consumes rate-limit points like a direct call. */
  limits?: RateLimits | undefined;
  log: Logger;
}

/** How the backend's traffic during a call reaches the client (absent: the fast path). */
export interface Relay {
  notify(method: string, params: Record<string, unknown>): Promise<void>;
  /** Sends a request to the client; rejects when the client cannot take it. */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Client capability check for backend-to-client requests. */
  supports(method: string): boolean;
  /** Whether a backend log message of this level reaches the session. */
  wantsLog?(level: string): boolean;
}

export interface CallContext {
  principal: Principal;
  entry?: RequestEntry | undefined;
  /** An AbortSignal, or the fast path's cheaper Cancel. */
  signal?: CancelSource | undefined;
  relay?: Relay | undefined;
  /**
   * Given (the lean call path), a tools/call result may come back unparsed, as a RawResult:
   * this hears one that will pass on as it came the moment it is in, before callTool resolves
   * with it, so the answer can leave at once.
   */
  onPassthrough?: ((result: RawResult) => void) | undefined;
}

let progressTokens = 0;

/** A backend's requests while the caller has no session to relay them to: refused; its notifications dropped. */
const NO_RELAY: StreamHandlers = {
  onRequest: (r) => Promise.resolve({ error: { code: ErrorCode.MethodNotFound, message: `The client does not support ${r.method}` } }),
};

type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };

export class McpRouter {
  constructor(
    private readonly catalog: CatalogStore,
    private readonly pool: UpstreamPool,
    private readonly search?: { engine: ToolSearch; enabledByDefault: boolean },
    private readonly composite?: CompositeWiring,
  ) {}

  /** Whether `principal` may see and call `name`: a composite tool needs every tool its steps call. */
  canSee(principal: Principal, name: string): boolean {
    if (!allows(principal, name)) return false;
    const route = this.catalog.catalog.routes.get(name);
    if (!route || !this.composite || route.prefix !== this.composite.engine.prefix || !principal.tools) return true;
    return this.composite.engine.requiredTools(route.original).every((tool) => allows(principal, tool));
  }

  /** Whether `principal` works in tool-search mode. */
  searchMode(principal: Principal): boolean {
    return this.search !== undefined && (principal.toolSearch ?? this.search.enabledByDefault);
  }

  /** The backend a prompts/get or resources/read goes to, if it resolves. */
  backendOfRequest(method: string, params: unknown, principal: Principal): string | undefined {
    const p = (params ?? {}) as { name?: unknown; uri?: unknown };
    const catalog = this.catalog.catalog;
    if (method === 'prompts/get' && typeof p.name === 'string') {
      const route = catalog.promptRoutes.get(p.name);
      return route && allows(principal, p.name) ? route.prefix : undefined;
    }
    if (method === 'resources/read' && typeof p.uri === 'string') return resolveUri(catalog, p.uri)?.prefix;
    return undefined;
  }

  /** The tool a request really calls: the inner one for gateway__call_tool in search mode. */
  calledTool(params: { name?: unknown; arguments?: unknown } | undefined, principal: Principal): string | undefined {
    const name = params?.name;
    if (name === CALL_TOOL && this.searchMode(principal)) {
      const inner = (params?.arguments as { name?: unknown } | undefined)?.name;
      return typeof inner === 'string' ? inner : undefined;
    }
    return typeof name === 'string' ? name : undefined;
  }

  /** The backend prefix of an exposed tool name that `principal` may call. */
  backendOf(name: string, principal: Principal): string | undefined {
    const route = this.catalog.catalog.routes.get(name);
    return route && allows(principal, name) ? route.prefix : undefined;
  }

  /**
   * Calls a tool for `ctx.principal`. With `ctx.onPassthrough` a backend's plain answer may come
   * back as its own text (a RawResult: the caller sets the entry's status once it looked
   * inside); a result that names URIs is always parsed, as they are rewritten.
   */
  callTool(params: Params, ctx: CallContext & { onPassthrough: (result: RawResult) => void }): Promise<CallToolResult | RawResult>;
  callTool(params: Params, ctx: CallContext): Promise<CallToolResult>;
  async callTool(params: Params, ctx: CallContext): Promise<CallToolResult | RawResult> {
    const name = typeof params.name === 'string' ? params.name : '';
    if (this.search && this.searchMode(ctx.principal)) {
      if (this.search.engine.isSearchTool(name)) {
        if (ctx.entry) ctx.entry.tool = name;
        return this.search.engine.run(name, (params.arguments ?? {}) as Record<string, unknown>, ctx.principal);
      }
      if (name === CALL_TOOL) {
        // The same scope and routing as a direct call: only the name and arguments move.
        const args = (params.arguments ?? {}) as { name?: unknown; arguments?: unknown };
        const { arguments: _outer, ...rest } = params;
        return this.callTool({ ...rest, name: args.name, ...(args.arguments !== undefined ? { arguments: args.arguments } : {}) }, ctx);
      }
    }
    const catalog = this.catalog.catalog;
    const route = catalog.routes.get(name);
    if (ctx.entry) ctx.entry.tool = name;
    // A tool outside the principal's scope answers exactly like one that does not exist.
    if (!route || !this.canSee(ctx.principal, name)) {
      if (ctx.entry && route) ctx.entry.status = 'denied';
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    if (this.composite && route.prefix === this.composite.engine.prefix) return this.callComposite(route.original, params, ctx);
    try {
      const early = ctx.onPassthrough;
      const callCtx = early ? { ...ctx, onPassthrough: (raw: RawResult) => { if (passesAsIs(raw, catalog)) early(raw); } } : ctx;
      let result = await this.forward(route.prefix, 'tools/call', { ...params, name: route.original }, callCtx);
      if (result instanceof RawResult) {
        if (passesAsIs(result, catalog)) return result;
        try {
          result = result.value();
        } catch {
          throw new UpstreamError(`backend "${route.prefix}" answered a result that is not JSON`, route.prefix, ctx.entry?.instance);
        }
      }
      if (ctx.entry) ctx.entry.status = result.isError === true ? 'error' : 'ok';
      return rewriteUris(result, route.prefix, catalog) as CallToolResult;
    } catch (error) {
      if (error instanceof UpstreamError) {
        return { isError: true, content: [{ type: 'text', text: `Tool ${name} failed: ${error.message}` }] };
      }
      throw error;
    }
  }

  /** Runs a composite tool: each step is a call made as the caller, limited and logged on its own. */
  private async callComposite(name: string, params: Params, ctx: CallContext): Promise<CallToolResult> {
    const { engine, limits, log } = this.composite!;
    const parent = ctx.entry;
    if (parent) parent.backend = engine.prefix;
    const started = performance.now();
    const result = await engine.call(name, params.arguments ?? {}, {
      ...(ctx.signal ? { signal: toAbortSignal(ctx.signal) } : {}),
      callTool: async (tool, args, { stepId, signal }) => {
        const route = this.catalog.catalog.routes.get(tool);
        if (route?.prefix === engine.prefix) throw new McpError(ErrorCode.InvalidParams, `Composite tools cannot call composite tools (${tool})`);
        if (limits) {
          const outcome = await limits.consume(ctx.principal, 'tools/call', tool, route?.prefix);
          if (!outcome.ok) {
            return { isError: true, content: [{ type: 'text', text: `Rate limit exceeded (${outcome.rejection.rule}); retry in ${outcome.rejection.retryAfterSeconds} s` }] };
          }
        }
        const entry: RequestEntry = { reqId: parent?.reqId ?? '', method: 'tools/call', principal: ctx.principal.id, sessionId: parent?.sessionId, tool };
        try {
          return await this.callTool({ name: tool, arguments: args }, { ...ctx, entry, signal, onPassthrough: undefined });
        } finally {
          log.info({ reqId: entry.reqId, sessionId: entry.sessionId, principal: entry.principal, composite: `${engine.prefix}:${name}`, step: stepId, tool, backend: entry.backend, instance: entry.instance, status: entry.status ?? 'error' }, 'composite step');
        }
      },
      onStep: (event) => {
        if (event.status === 'skipped' || event.status === 'timeout') {
          log.info({ reqId: parent?.reqId, composite: `${engine.prefix}:${name}`, step: event.stepId, tool: event.tool, status: event.status, durationMs: event.durationMs, error: event.error }, 'composite step');
        }
      },
    });
    if (parent) {
      parent.status = result.isError === true ? 'error' : 'ok';
      parent.upstreamMs = performance.now() - started;
    }
    return result;
  }

  async getPrompt(params: Params, ctx: CallContext): Promise<Record<string, unknown>> {
    const name = typeof params.name === 'string' ? params.name : '';
    const catalog = this.catalog.catalog;
    const route = catalog.promptRoutes.get(name);
    if (ctx.entry) ctx.entry.tool = name;
    if (!route || !allows(ctx.principal, name)) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
    return rewriteUris(await this.forwardOrThrow(route.prefix, 'prompts/get', { ...params, name: route.original }, ctx), route.prefix, catalog);
  }

  async readResource(params: Params, ctx: CallContext): Promise<Record<string, unknown>> {
    const uri = typeof params.uri === 'string' ? params.uri : '';
    const catalog = this.catalog.catalog;
    const target = resolveUri(catalog, uri);
    if (ctx.entry) ctx.entry.tool = uri;
    if (!target) throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    return rewriteUris(await this.forwardOrThrow(target.prefix, 'resources/read', { ...params, uri: target.original }, ctx), target.prefix, catalog);
  }

  /** Subscribes the backend (on behalf of the gateway's sessions) to the resource behind `uri`. */
  async subscribe(uri: string, on: boolean): Promise<{ prefix: string; original: string }> {
    const target = resolveUri(this.catalog.catalog, uri);
    if (!target) throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    try {
      await this.pool.subscribe(target.prefix, target.original, on);
    } catch (error) {
      throw toRpcError(error);
    }
    return target;
  }

  async complete(params: Params, ctx: CallContext): Promise<Record<string, unknown>> {
    const ref = (params.ref ?? {}) as { type?: string; name?: string; uri?: string };
    const catalog = this.catalog.catalog;
    if (ref.type === 'ref/prompt') {
      const route = catalog.promptRoutes.get(ref.name ?? '');
      if (!route || !allows(ctx.principal, route.exposed)) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${ref.name}`);
      return this.forwardOrThrow(route.prefix, 'completion/complete', { ...params, ref: { ...ref, name: route.original } }, ctx);
    }
    if (ref.type === 'ref/resource') {
      const template = catalog.templates.find((t) => t.uriTemplate === ref.uri);
      const origin = template?._meta?.['io.github.mcp-gateway/origin'] as { backend: string; name: string } | undefined;
      const target = origin ? { prefix: origin.backend, original: origin.name } : resolveUri(catalog, ref.uri ?? '');
      if (!target) throw new McpError(ErrorCode.InvalidParams, `Unknown resource template: ${ref.uri}`);
      return this.forwardOrThrow(target.prefix, 'completion/complete', { ...params, ref: { ...ref, uri: target.original } }, ctx);
    }
    throw new McpError(ErrorCode.InvalidParams, `Unknown completion reference type: ${String(ref.type)}`);
  }

  private async forwardOrThrow(prefix: string, method: string, params: Params, ctx: CallContext): Promise<Record<string, unknown>> {
    try {
      return resultValue(await this.forward(prefix, method, params, ctx));
    } catch (error) {
      throw toRpcError(error);
    }
  }

  /** Sends one request upstream with progress, log and request relaying; fills the log entry. */
  private async forward(prefix: string, method: string, params: Params, ctx: CallContext): Promise<Record<string, unknown> | RawResult> {
    const { entry, relay } = ctx;
    if (entry) entry.backend = prefix;
    const clientToken = params._meta?.progressToken;
    let upstreamParams = params;
    let upstreamToken: string | undefined;
    if (clientToken !== undefined) {
      // Upstream sessions are shared by many clients: give the backend a token of our own.
      upstreamToken = `gwp-${++progressTokens}`;
      upstreamParams = { ...params, _meta: { ...params._meta, progressToken: upstreamToken } };
    }
    const started = performance.now();
    try {
      const { result, instance } = await this.pool.request(prefix, method, upstreamParams, {
        signal: ctx.signal,
        headers: entry?.trace,
        onPassthrough: ctx.onPassthrough,
        // Without a session to relay to (the lean call path), one shared answer for everything.
        handlers: !relay ? NO_RELAY : {
          onNotification: (n: JSONRPCNotification) => {
            const p = (n.params ?? {}) as Record<string, unknown>;
            if (n.method === 'notifications/progress' && upstreamToken !== undefined && p.progressToken === upstreamToken) {
              void relay.notify(n.method, { ...p, progressToken: clientToken }).catch(() => undefined);
            } else if (n.method === 'notifications/message' && (relay.wantsLog?.(String(p.level)) ?? true)) {
              void relay.notify(n.method, p).catch(() => undefined);
            }
          },
          onRequest: async (r: JSONRPCRequest): Promise<RequestAnswer> => {
            if (!relay.supports(r.method)) {
              return { error: { code: ErrorCode.MethodNotFound, message: `The client does not support ${r.method}` } };
            }
            try {
              return { result: await relay.request(r.method, (r.params ?? {})) };
            } catch (error) {
              const code = error instanceof McpError ? error.code : ErrorCode.InternalError;
              return { error: { code, message: (error as Error).message.replace(/^MCP error -?\d+: /, '') } };
            }
          },
        },
      });
      if (entry) {
        entry.instance = instance;
        entry.upstreamMs = performance.now() - started;
        entry.status ??= 'ok';
      }
      return result;
    } catch (error) {
      if (entry) {
        entry.status = 'error';
        entry.upstreamMs = performance.now() - started;
        if (error instanceof UpstreamError) {
          if (error.instance) entry.instance = error.instance;
          entry.error = error.message;
        }
      }
      if (error instanceof BackendRpcError) throw new McpError(error.code, error.message, error.data);
      throw error;
    }
  }
}

function toRpcError(error: unknown): unknown {
  if (error instanceof UpstreamError) return new McpError(ErrorCode.InternalError, error.message);
  if (error instanceof BackendRpcError) return new McpError(error.code, error.message, error.data);
  return error;
}

/**
 * Resource URIs inside results (embedded resources, resource links, read contents) are
 * given in their exposed form, so clients can read them back through the gateway.
 */
/**
 * Whether a passed-through result goes to the client as it came: URIs in it would be
 * rewritten. Any \u escape counts as a possible "uri" key (JSON may spell keys that way).
 */
function passesAsIs(result: RawResult, catalog: Catalog): boolean {
  return catalog.naming.prefix === 'never' || (!result.json.includes('"uri"') && !result.json.includes('\\u'));
}

function rewriteUris(result: Record<string, unknown>, prefix: string, catalog: Catalog): Record<string, unknown> {
  if (catalog.naming.prefix === 'never') return result;
  const expose = (uri: unknown): unknown => (typeof uri === 'string' ? exposeUri(prefix, uri, catalog.naming) : uri);
  const fixContent = (item: Record<string, unknown>): Record<string, unknown> => {
    if (item.type === 'resource_link') return { ...item, uri: expose(item.uri) };
    if (item.type === 'resource' && item.resource && typeof item.resource === 'object') {
      const resource = item.resource as Record<string, unknown>;
      return { ...item, resource: { ...resource, uri: expose(resource.uri) } };
    }
    return item;
  };
  let out = result;
  if (Array.isArray(result.content)) out = { ...out, content: (result.content as Record<string, unknown>[]).map(fixContent) };
  if (Array.isArray(result.contents)) out = { ...out, contents: (result.contents as Record<string, unknown>[]).map((c) => ({ ...c, uri: expose(c.uri) })) };
  if (Array.isArray(result.messages)) {
    out = {
      ...out,
      messages: (result.messages as { content?: Record<string, unknown> }[]).map((m) => (m.content ? { ...m, content: fixContent(m.content) } : m)),
    };
  }
  return out;
}
