// Child process of the scale benchmark: ONE HTTP server that is many MCP backends, one per
// path (/s/0000/mcp ... /s/0999/mcp), each with its own tools. The SDK's low-level Server
// behind a stateful Streamable HTTP transport answering with JSON, one session per client
// per path; like SDK McpServer backends it declares tools.listChanged.
// Usage: node multipath-backend.js COUNT TOOLS_PER_SERVICE
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';

const count = Number(process.argv[2] ?? 1000);
const perService = Number(process.argv[3] ?? 5);

const VERBS = ['get', 'list', 'create', 'update', 'delete', 'search', 'archive', 'restore'];

function toolsOf(index: number): Tool[] {
  return Array.from({ length: perService }, (_, k) => ({
    name: `${VERBS[k % VERBS.length]!}_record${k >= VERBS.length ? String(k) : ''}`,
    description: `${VERBS[k % VERBS.length]!} a record of service ${index}: looks it up by id and returns its fields as JSON.`,
    inputSchema: {
      type: 'object' as const,
      properties: {
        id: { type: 'string', description: 'Record id' },
        fields: { type: 'array', items: { type: 'string' }, description: 'Fields to return' },
      },
      required: ['id'],
    },
  }));
}

interface Session {
  index: number;
  server: Server;
  transport: StreamableHTTPServerTransport;
}

const sessions = new Map<string, Session>();

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const match = /^\/s\/(\d{4})\/mcp(?:\?.*)?$/.exec(req.url ?? '');
  const index = match ? Number(match[1]) : -1;
  if (index < 0 || index >= count) {
    res.writeHead(404).end();
    return;
  }
  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const session = sessions.get(sessionId);
    if (!session || session.index !== index) return rpcError(res, 404, -32001, 'Session not found');
    await session.transport.handleRequest(req, res);
    return;
  }
  if (req.method !== 'POST') return rpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
  const server = new Server({ name: `svc-${index}`, version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolsOf(index) }));
  server.setRequestHandler(CallToolRequestSchema, (request) => ({
    content: [{ type: 'text', text: JSON.stringify({ service: index, tool: request.params.name, args: request.params.arguments ?? {} }) }],
  }));
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    // SDK servers send an SSE keep-alive comment on the GET stream every 15 s by default; for
    // investigation BENCH_BACKEND_KEEPALIVE_MS=0 turns it off (as older servers behave).
    ...(process.env.BENCH_BACKEND_KEEPALIVE_MS ? { keepAliveMs: Number(process.env.BENCH_BACKEND_KEEPALIVE_MS) } : {}),
    onsessioninitialized: (id) => {
      sessions.set(id, { index, server, transport });
    },
  });
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  await server.connect(transport);
  await transport.handleRequest(req, res);
  if (transport.sessionId === undefined) await server.close();
}

const http = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    if (!res.headersSent) rpcError(res, 500, -32603, (error as Error).message);
    else res.destroy();
  });
});
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
});

const stop = (): void => {
  http.closeAllConnections();
  http.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
