// Serving an SDK MCP server over Streamable HTTP with one server and transport per client
// session, for backends built on this package (the demo fleet, test backends): new sessions
// on `initialize`, requests routed by Mcp-Session-Id, unknown ids answered 404.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** What a session needs of an SDK server: the low-level `Server` and `McpServer` both fit. */
export interface SessionServer {
  connect(transport: StreamableHTTPServerTransport): Promise<void>;
  close(): Promise<void>;
}

export interface Session<S extends SessionServer> {
  server: S;
  transport: StreamableHTTPServerTransport;
}

export function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export class SessionTable<S extends SessionServer> {
  readonly sessions = new Map<string, Session<S>>();

  constructor(private readonly createServer: () => S, private readonly options: { jsonResponse?: boolean } = {}) {}

  get size(): number {
    return this.sessions.size;
  }

  private open(): Session<S> {
    const server = this.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: this.options.jsonResponse ?? false,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { server, transport });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.sessions.delete(transport.sessionId);
    };
    return { server, transport };
  }

  /** Handles one request on the MCP path; `onStream` sees each standalone GET stream open. */
  async handle(req: IncomingMessage, res: ServerResponse, onStream?: (res: ServerResponse) => void): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.sessions.get(sessionId);
      if (!session) return jsonRpcError(res, 404, -32001, 'Session not found');
      if (req.method === 'GET') onStream?.(res);
      // GET (notification stream), POST and DELETE (session end) are all the transport's.
      await session.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST') return jsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
    // Only an initialize starts a session; the transport answers anything else with 400.
    const session = this.open();
    await session.server.connect(session.transport);
    await session.transport.handleRequest(req, res);
    if (session.transport.sessionId === undefined) await session.server.close();
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((session) => session.server.close()));
    this.sessions.clear();
  }
}
