// Serves one demo team as a real MCP backend: stateful Streamable HTTP at /mcp (an McpServer
// and transport per client session) and GET /healthz for Consul's HTTP check.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { jsonRpcError, SessionTable } from '../backend/sessions.js';
import { opsTeam } from './ops.js';
import { hrTeam } from './hr.js';
import { financeTeam } from './finance.js';
import type { DemoTeam, TeamKind } from './team.js';

export type { TeamKind } from './team.js';
export const TEAM_KINDS: readonly TeamKind[] = ['ops', 'hr', 'finance'];

/** The seed tutorial's ports: ops 8001, hr 8002, finance 8003. */
export const DEFAULT_PORTS: Record<TeamKind, number> = { ops: 8001, hr: 8002, finance: 8003 };

export interface DemoBackend {
  /** http://HOST:PORT/mcp */
  url: string;
  /** http://HOST:PORT/healthz */
  healthUrl: string;
  port: number;
  close(): Promise<void>;
}

const MCP_PATH = '/mcp';
const CLOSE_GRACE_MS = 1000;

function team(kind: TeamKind): DemoTeam {
  switch (kind) {
    case 'ops':
      return opsTeam();
    case 'hr':
      return hrTeam();
    case 'finance':
      return financeTeam();
  }
}

/** Starts the team's backend on host:port (default 127.0.0.1, a free port). */
export async function startDemoBackend(kind: TeamKind, opts: { host?: string; port?: number } = {}): Promise<DemoBackend> {
  const host = opts.host ?? '127.0.0.1';
  const demo = team(kind);
  const sessions = new SessionTable(() => {
    const server = new McpServer({ name: demo.serverName, version: '1.0.0' });
    demo.install(server);
    return server;
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', team: kind, sessions: sessions.size }));
      return;
    }
    if (pathname !== MCP_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    await sessions.handle(req, res);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) jsonRpcError(res, 500, -32603, (error as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error(`demo ${kind}: no port assigned`);
  // A wildcard bind is reached through loopback from this machine.
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${reachable}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${base}${MCP_PATH}`,
    healthUrl: `${base}/healthz`,
    port: address.port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        await sessions.closeAll();
        http.closeIdleConnections();
        const grace = setTimeout(() => http.closeAllConnections(), CLOSE_GRACE_MS);
        await stopped;
        clearTimeout(grace);
      })();
      return closing;
    },
  };
}
