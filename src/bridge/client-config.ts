// The tutorial's Step 1 made from what the gateway sees: a ready `claude_desktop_config.json`
// object, either one entry that launches the stdio bridge to the gateway (`bridge`), or one
// entry per backend pointing at a healthy instance (`direct`, read from GET /admin/backends).
//
// Claude Desktop's config file takes stdio servers only (`command`/`args`/`env`); an entry with
// `url` is ignored there (remote servers go through Settings > Connectors). So direct entries
// launch `npx -y mcp-remote <url>` (geelen/mcp-remote's documented shape), adding
// `--allow-http` where it demands it: plain http to a host other than localhost/127.0.0.1.
// `remote: 'http'` gives `{ "type": "http", "url" }` instead, the shape of clients that speak
// Streamable HTTP themselves (Claude Code's `.mcp.json`, Cursor).
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export interface ClientConfigOptions {
  /** The gateway's base URL (http://127.0.0.1:8000) or its MCP endpoint (.../mcp). */
  gatewayUrl: string;
  /** bridge: the client's token, passed to the bridge in its env. direct: read /admin/backends (an admin key). */
  token?: string | undefined;
  mode: 'bridge' | 'direct';
  /**
   * bridge: how to launch `mcp-gateway`, split on spaces (or as an array), e.g.
   * `mcp-gateway` or `npx -y @your-org/mcp-gateway`. Default: this installation, as
   * `<node> <abs path>/dist/src/cli/main.js`.
   */
  command?: string | readonly string[] | undefined;
  /** bridge: the entry's name. Default `mcp-gateway`. */
  name?: string | undefined;
  /** direct: entry shape, see the module note. Default `mcp-remote`. */
  remote?: 'mcp-remote' | 'http' | undefined;
  /** direct: told about each backend left out (no healthy instance). */
  warn?: ((message: string) => void) | undefined;
}

/** A stdio entry (`command`) or, for clients that support it, a remote one (`type`/`url`). */
export interface McpServerEntry {
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  type?: 'http';
  url?: string;
}

export interface ClientConfig {
  mcpServers: Record<string, McpServerEntry>;
}

/** GET /admin/backends. */
export const AdminBackendsSchema = z.array(z.object({
  prefix: z.string(),
  service: z.string(),
  source: z.string(),
  instances: z.array(z.object({
    id: z.string(),
    address: z.string(),
    port: z.number(),
    healthy: z.boolean(),
    url: z.string(),
    connected: z.boolean(),
  })),
}));
export type AdminBackends = z.infer<typeof AdminBackendsSchema>;

/** Env variable the bridge reads its token from (keeps it out of `ps` and of `args`). */
export const TOKEN_ENV = 'MCP_GATEWAY_TOKEN';

/** `{ base, mcp }`: the gateway root (for /admin) and its MCP endpoint. */
export function gatewayUrls(gatewayUrl: string): { base: string; mcp: string } {
  const url = new URL(gatewayUrl);
  const path = url.pathname.replace(/\/+$/, '');
  const basePath = path.endsWith('/mcp') ? path.slice(0, -'/mcp'.length) : path;
  const base = `${url.origin}${basePath}`;
  return { base, mcp: `${base}/mcp` };
}

/** How this installation's CLI is launched: the running node and the absolute path of main.js. */
export function defaultCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../cli/main.js', import.meta.url))];
}

export function bridgeEntry(mcpUrl: string, opts: { token?: string | undefined; command?: string | readonly string[] | undefined }): McpServerEntry {
  const launch = opts.command === undefined
    ? defaultCommand()
    : typeof opts.command === 'string' ? opts.command.trim().split(/\s+/) : [...opts.command];
  const [command, ...prefixArgs] = launch;
  if (!command) throw new Error('clientConfig: empty command');
  return {
    command,
    args: [...prefixArgs, 'stdio', '--url', mcpUrl],
    ...(opts.token ? { env: { [TOKEN_ENV]: opts.token } } : {}),
  };
}

function needsAllowHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && hostname !== 'localhost' && hostname !== '127.0.0.1';
}

/** One entry per backend with a healthy instance (a connected one first); the rest named in `skipped`. */
export function directEntries(backends: AdminBackends, remote: 'mcp-remote' | 'http' = 'mcp-remote'): { mcpServers: Record<string, McpServerEntry>; skipped: string[] } {
  const mcpServers: Record<string, McpServerEntry> = {};
  const skipped: string[] = [];
  for (const backend of backends) {
    const healthy = backend.instances.filter((i) => i.healthy);
    const instance = healthy.find((i) => i.connected) ?? healthy[0];
    if (!instance) {
      skipped.push(backend.prefix);
      continue;
    }
    mcpServers[backend.prefix] = remote === 'http'
      ? { type: 'http', url: instance.url }
      : { command: 'npx', args: ['-y', 'mcp-remote', instance.url, ...(needsAllowHttp(instance.url) ? ['--allow-http'] : [])] };
  }
  return { mcpServers, skipped };
}

/** Reads GET /admin/backends with the token as bearer; errors name the status and what to fix. */
export async function fetchBackends(base: string, token?: string): Promise<AdminBackends> {
  const url = `${base}/admin/backends`;
  let response: Response;
  try {
    response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`cannot reach ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const hint = response.status === 401 || response.status === 403 ? ' (direct mode reads /admin/backends: pass an admin key with --token)' : '';
    throw new Error(`${url} answered HTTP ${response.status}${hint}`);
  }
  return AdminBackendsSchema.parse(await response.json());
}

export async function clientConfig(opts: ClientConfigOptions): Promise<ClientConfig> {
  const { base, mcp } = gatewayUrls(opts.gatewayUrl);
  if (opts.mode === 'bridge') {
    return { mcpServers: { [opts.name ?? 'mcp-gateway']: bridgeEntry(mcp, opts) } };
  }
  const { mcpServers, skipped } = directEntries(await fetchBackends(base, opts.token), opts.remote);
  for (const prefix of skipped) opts.warn?.(`backend "${prefix}" has no healthy instance; left out`);
  return { mcpServers };
}
