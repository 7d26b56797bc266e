// Client sessions: one SDK `Server` and Streamable HTTP transport per client (SDK 1.26+
// forbids sharing), capabilities declared up front so tools can come and go at run time.
// Each session reads the shared catalog; a catalog change sends it tools/list_changed.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import type { Catalog } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import { currentEntry } from './call-context.js';
import type { ToolRouter } from './router.js';

export interface ClientSession {
  readonly id: string;
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport;
  readonly principal: Principal;
  readonly createdAt: number;
  /** Content key of the tool list this session last could see. */
  seen: string;
}

interface View {
  version: number;
  tools: Tool[];
  key: string;
}

const SERVER_INFO = { name: 'mcp-gateway', version: '0.1.0' };

export class SessionRegistry {
  private readonly sessions = new Map<string, ClientSession>();
  private readonly unsubscribe: () => void;
  /** Filtered tool lists per tool scope, for the current catalog version. */
  private readonly views = new Map<string, View>();

  constructor(
    private readonly catalog: CatalogStore,
    private readonly router: ToolRouter,
    private readonly log: Logger,
  ) {
    this.unsubscribe = catalog.subscribe(() => this.notifyToolsChanged());
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): ClientSession | undefined {
    return this.sessions.get(id);
  }

  /** The tools `principal` may see in the current catalog (cached per scope and version). */
  visibleTools(principal: Principal): View {
    const catalog: Catalog = this.catalog.catalog;
    if (!principal.tools) return { version: catalog.version, tools: catalog.tools as Tool[], key: catalog.key };
    const scope = principal.tools;
    const cached = this.views.get(scope.key);
    if (cached?.version === catalog.version) return cached;
    const tools = catalog.tools.filter((t) => scope.allows(t.name));
    const view = { version: catalog.version, tools, key: JSON.stringify(tools) };
    this.views.set(scope.key, view);
    return view;
  }

  /** A new session for an `initialize` request; it registers itself once the SDK assigns the id. */
  create(principal: Principal): StreamableHTTPServerTransport {
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions: 'Tools of several MCP servers, each named <backend>__<tool>.',
    });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.visibleTools(principal).tools }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.router.callTool(request.params, principal, currentEntry('tools/call', extra.requestId), extra.signal));
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { id, server, transport, principal, createdAt: Date.now(), seen: this.visibleTools(principal).key });
        this.log.debug({ sessionId: id, principal: principal.id }, 'client session opened');
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    server.connect(transport).catch((error: Error) => this.log.error({ err: error.message }, 'session setup failed'));
    return transport;
  }

  async handle(transport: StreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    await transport.handleRequest(req, res, body);
  }

  /** Tells each session whose own view changed; a principal limited to ops__* hears nothing of hr. */
  private notifyToolsChanged(): void {
    for (const view of this.views.keys()) if (this.views.get(view)!.version !== this.catalog.catalog.version) this.views.delete(view);
    for (const session of this.sessions.values()) {
      const key = this.visibleTools(session.principal).key;
      if (key === session.seen) continue;
      session.seen = key;
      session.server.sendToolListChanged().catch((error: Error) =>
        this.log.debug({ sessionId: session.id, err: error.message }, 'list_changed not delivered'));
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.server.close().catch(() => undefined)));
  }
}
