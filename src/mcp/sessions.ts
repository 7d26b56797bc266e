// Client sessions: one SDK `Server` and Streamable HTTP transport per client (SDK 1.26+
// forbids sharing), capabilities declared up front so tools can come and go at run time.
// Each session reads the shared catalog; a catalog change sends it tools/list_changed.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { CatalogStore } from '../catalog/store.js';
import { currentEntry } from './call-context.js';
import type { ToolRouter } from './router.js';

export interface ClientSession {
  readonly id: string;
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport;
  readonly principal: string;
  readonly createdAt: number;
}

const SERVER_INFO = { name: 'mcp-gateway', version: '0.1.0' };

export class SessionRegistry {
  private readonly sessions = new Map<string, ClientSession>();
  private readonly unsubscribe: () => void;

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

  /** A new session for an `initialize` request; it registers itself once the SDK assigns the id. */
  create(principal: string): StreamableHTTPServerTransport {
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions: 'Tools of several MCP servers, each named <backend>__<tool>.',
    });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...this.catalog.catalog.tools] }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.router.callTool(request.params, currentEntry('tools/call', extra.requestId), extra.signal));
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { id, server, transport, principal, createdAt: Date.now() });
        this.log.debug({ sessionId: id, principal }, 'client session opened');
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

  private notifyToolsChanged(): void {
    for (const session of this.sessions.values()) {
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
