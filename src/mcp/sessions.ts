// Client sessions: one SDK `Server` and Streamable HTTP transport per client (SDK 1.26+
// forbids sharing), every capability declared up front so tools, prompts and resources can
// come and go at run time. Each session reads the shared catalog through its principal's
// scope, pages lists with opaque cursors, hears list_changed only when its own view changed,
// and gets resource updates for what it subscribed to.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type Prompt,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { exposeUri, META_KEY, type Catalog } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import { currentEntry } from './call-context.js';
import type { McpRouter, Relay } from './router.js';
import { SessionEventStore } from './event-store.js';
import { SEARCH_TOOLS } from './tool-search.js';

export interface ClientSession {
  readonly id: string;
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport;
  readonly principal: Principal;
  readonly createdAt: number;
  /** Content keys of the lists this session last could see. */
  seen: { tools: string; prompts: string; resources: string };
  subscriptions: Set<string>;
  logLevel: string | undefined;
  /** Fast-path calls in flight by JSON-RPC id, so notifications/cancelled can stop them. */
  /** Fast-path calls in flight by JSON-RPC id, for notifications/cancelled. */
  inflight: Map<unknown, { abort(): void }>;
  /** Last request seen, ms since epoch; and open GET streams (a listening client is not idle). */
  lastSeen: number;
  streams: number;
}

interface View<T> {
  version: number;
  items: T[];
  key: string;
}

export interface SessionOptions {
  /** Items per page of tools/list and the other lists. */
  pageSize: number;
  /** Sessions with no request and no open stream for this long are closed (0: never). */
  idleSeconds?: number;
}

const SERVER_INFO = { name: 'mcp-gateway', version: '0.1.0' };
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const AnyResult = z.looseObject({});
const VALIDATOR = new AjvJsonSchemaValidator();

/** Keyset pagination over a list sorted by `key`: a walk sees each item once, even across changes. */
export function page<T>(items: readonly T[], key: (item: T) => string, cursor: unknown, size: number): { items: T[]; nextCursor?: string } {
  let start = 0;
  if (typeof cursor === 'string') {
    let after: unknown;
    try {
      after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string') throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor');
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(items[mid]!) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const slice = items.slice(start, start + size);
  if (start + size >= items.length || slice.length === 0) return { items: slice };
  const last = key(slice[slice.length - 1]!);
  return { items: slice, nextCursor: Buffer.from(JSON.stringify({ after: last })).toString('base64url') };
}

function originOf(item: { _meta?: Record<string, unknown> | undefined }): string {
  return (item._meta?.[META_KEY] as { backend?: string } | undefined)?.backend ?? '';
}

export class SessionRegistry {
  private readonly sessions = new Map<string, ClientSession>();
  private readonly unsubscribe: () => void;
  private readonly toolViews = new Map<string, View<Tool>>();
  private readonly promptViews = new Map<string, View<Prompt>>();
  /** Exposed resource URI -> sessions subscribed to it. */
  private readonly subscribers = new Map<string, Set<string>>();

  constructor(
    private readonly catalog: CatalogStore,
    private readonly router: McpRouter,
    private readonly log: Logger,
    private readonly options: SessionOptions = { pageSize: 1000 },
    private readonly onLogLevel?: (level: string) => void,
  ) {
    this.unsubscribe = catalog.subscribe((next, previous) => this.notifyListsChanged(next, previous));
    const idle = (options.idleSeconds ?? 0) * 1000;
    if (idle > 0) {
      // Clients that vanish without DELETE would otherwise keep their session forever.
      this.sweeper = setInterval(() => this.expire(idle), Math.min(60_000, Math.max(1000, idle / 4)));
      this.sweeper.unref();
    }
  }

  private sweeper: NodeJS.Timeout | undefined;

  private expire(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of [...this.sessions.values()]) {
      if (session.streams > 0 || session.inflight.size > 0 || session.lastSeen > cutoff) continue;
      this.log.info({ sessionId: session.id, principal: session.principal.id }, 'idle client session closed');
      this.forget(session.id);
      void session.transport.close().catch(() => undefined);
      void session.server.close().catch(() => undefined);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): ClientSession | undefined {
    return this.sessions.get(id);
  }

  /** The tools `principal` may see in the current catalog (cached per scope and version). */
  visibleTools(principal: Principal): View<Tool> {
    return this.view(this.toolViews, principal, (c) => c.tools, (c) => c.key);
  }

  visiblePrompts(principal: Principal): View<Prompt> {
    return this.view(this.promptViews, principal, (c) => c.prompts, (c) => c.keys.prompts);
  }

  private view<T extends { name: string; _meta?: Record<string, unknown> | undefined }>(cache: Map<string, View<T>>, principal: Principal, items: (c: Catalog) => readonly T[], key: (c: Catalog) => string): View<T> {
    const catalog = this.catalog.catalog;
    if (!principal.tools) return { version: catalog.version, items: items(catalog) as T[], key: key(catalog) };
    const scope = principal.tools;
    const cached = cache.get(scope.key);
    if (cached?.version === catalog.version) return cached;
    const visible = items(catalog).filter((t) => scope.allows(t.name) && this.router.canSee(principal, t.name));
    // What the view shows and what each shown item's backend offers: changes with either.
    const viewKey = visible.map((t) => `${t.name}@${catalog.backendKeys.get(originOf(t)) ?? ''}`).join('\n');
    const view = { version: catalog.version, items: visible, key: viewKey };
    cache.set(scope.key, view);
    return view;
  }

  /** A new session for an `initialize` request; it registers itself once the SDK assigns the id. */
  create(principal: Principal): StreamableHTTPServerTransport {
    const server = new Server(SERVER_INFO, {
      jsonSchemaValidator: VALIDATOR,
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
      },
      instructions: 'Tools, prompts and resources of several MCP servers, each named <backend>__<name>.',
    });
    let session: ClientSession | undefined;
    const size = this.options.pageSize;
    const relay = (extra: { sendNotification: (n: never) => Promise<void>; sendRequest: (r: never, s: never) => Promise<unknown> }): Relay => ({
      notify: (method, params) => extra.sendNotification({ method, params } as never),
      request: async (method, params) => (await extra.sendRequest({ method, params } as never, AnyResult as never)) as Record<string, unknown>,
      supports: (method) => {
        const caps = server.getClientCapabilities() ?? {};
        if (method === 'sampling/createMessage') return caps.sampling !== undefined;
        if (method === 'elicitation/create') return caps.elicitation !== undefined;
        if (method === 'roots/list') return caps.roots !== undefined;
        return false;
      },
      wantsLog: (level) => !session?.logLevel || LEVELS.indexOf(level) >= LEVELS.indexOf(session.logLevel),
    });

    server.setRequestHandler(ListToolsRequestSchema, (request) => {
      if (this.router.searchMode(principal)) return { tools: [...SEARCH_TOOLS] };
      const { items, nextCursor } = page(this.visibleTools(principal).items, (t) => t.name, request.params?.cursor, size);
      return nextCursor ? { tools: items, nextCursor } : { tools: items };
    });
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.router.callTool(request.params, { principal, entry: currentEntry(extra.sessionId, extra.requestId), signal: extra.signal, relay: relay(extra as never) }));
    server.setRequestHandler(ListPromptsRequestSchema, (request) => {
      const { items, nextCursor } = page(this.visiblePrompts(principal).items, (p) => p.name, request.params?.cursor, size);
      return nextCursor ? { prompts: items, nextCursor } : { prompts: items };
    });
    server.setRequestHandler(GetPromptRequestSchema, async (request, extra) =>
      (await this.router.getPrompt(request.params, { principal, entry: currentEntry(extra.sessionId, extra.requestId), signal: extra.signal, relay: relay(extra as never) })) as never);
    server.setRequestHandler(ListResourcesRequestSchema, (request) => {
      const { items, nextCursor } = page(this.catalog.catalog.resources, (r) => r.uri, request.params?.cursor, size);
      return nextCursor ? { resources: items, nextCursor } : { resources: items };
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => {
      const { items, nextCursor } = page(this.catalog.catalog.templates, (t) => t.uriTemplate, request.params?.cursor, size);
      return nextCursor ? { resourceTemplates: items, nextCursor } : { resourceTemplates: items };
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) =>
      (await this.router.readResource(request.params, { principal, entry: currentEntry(extra.sessionId, extra.requestId), signal: extra.signal, relay: relay(extra as never) })) as never);
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      await this.subscribe(session, request.params.uri, true);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      await this.subscribe(session, request.params.uri, false);
      return {};
    });
    server.setRequestHandler(CompleteRequestSchema, async (request, extra) =>
      (await this.router.complete(request.params, { principal, entry: currentEntry(extra.sessionId, extra.requestId), signal: extra.signal })) as never);
    server.setRequestHandler(SetLevelRequestSchema, (request) => {
      if (session) session.logLevel = request.params.level;
      this.onLogLevel?.(this.mostVerboseLevel());
      return {};
    });

    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Streams a client lost can be resumed with Last-Event-ID: nothing sent meanwhile is lost.
      eventStore: new SessionEventStore(),
      onsessioninitialized: (id) => {
        const catalog = this.catalog.catalog;
        session = {
          id, server, transport, principal, createdAt: Date.now(),
          seen: { tools: this.router.searchMode(principal) ? 'search' : this.visibleTools(principal).key, prompts: this.visiblePrompts(principal).key, resources: catalog.keys.resources },
          subscriptions: new Set(),
          logLevel: undefined,
          inflight: new Map(),
          lastSeen: Date.now(),
          streams: 0,
        };
        this.sessions.set(id, session);
        this.log.debug({ sessionId: id, principal: principal.id }, 'client session opened');
      },
      onsessionclosed: (id) => this.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId);
    };
    server.connect(transport).catch((error: Error) => this.log.error({ err: error.message }, 'session setup failed'));
    return transport;
  }

  private forget(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    for (const uri of session.subscriptions) void this.subscribe(session, uri, false).catch(() => undefined);
  }

  private mostVerboseLevel(): string {
    let index = LEVELS.length - 1;
    for (const s of this.sessions.values()) if (s.logLevel) index = Math.min(index, LEVELS.indexOf(s.logLevel));
    return LEVELS[index] ?? 'info';
  }

  /** The first subscriber subscribes the backend; the last one to leave unsubscribes it. */
  private async subscribe(session: ClientSession | undefined, uri: string, on: boolean): Promise<void> {
    if (!session) return;
    let set = this.subscribers.get(uri);
    if (on) {
      if (!set) this.subscribers.set(uri, (set = new Set()));
      const first = set.size === 0;
      set.add(session.id);
      session.subscriptions.add(uri);
      if (first) {
        try {
          await this.router.subscribe(uri, true);
        } catch (error) {
          set.delete(session.id);
          session.subscriptions.delete(uri);
          throw error;
        }
      }
      return;
    }
    session.subscriptions.delete(uri);
    if (!set?.delete(session.id)) return;
    if (set.size === 0) {
      this.subscribers.delete(uri);
      await this.router.subscribe(uri, false).catch(() => undefined);
    }
  }

  /** A backend's resource changed: tell the sessions that subscribed to it. */
  resourceUpdated(prefix: string, uri: string): void {
    const exposed = exposeUri(prefix, uri, this.catalog.catalog.naming);
    for (const id of this.subscribers.get(exposed) ?? []) {
      this.sessions.get(id)?.server.sendResourceUpdated({ uri: exposed }).catch(() => undefined);
    }
  }

  async handle(transport: StreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    await transport.handleRequest(req, res, body);
  }

  /** Tells each session whose own view changed; a principal limited to ops__* hears nothing of hr. */
  private notifyListsChanged(next: Catalog, _previous: Catalog): void {
    for (const [key, view] of this.toolViews) if (view.version !== next.version) this.toolViews.delete(key);
    for (const [key, view] of this.promptViews) if (view.version !== next.version) this.promptViews.delete(key);
    for (const session of this.sessions.values()) {
      const tools = this.router.searchMode(session.principal) ? 'search' : this.visibleTools(session.principal).key;
      const prompts = this.visiblePrompts(session.principal).key;
      const resources = next.keys.resources;
      const fail = (error: Error): void => this.log.debug({ sessionId: session.id, err: error.message }, 'list_changed not delivered');
      if (tools !== session.seen.tools) session.server.sendToolListChanged().catch(fail);
      if (prompts !== session.seen.prompts) session.server.sendPromptListChanged().catch(fail);
      if (resources !== session.seen.resources) session.server.sendResourceListChanged().catch(fail);
      session.seen = { tools, prompts, resources };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.unsubscribe();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.server.close().catch(() => undefined)));
  }
}
