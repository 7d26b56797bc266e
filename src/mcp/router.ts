// Routes a tools/call by exposed name to its backend, shared by the fast path and the
// SDK-server path. Protocol faults (unknown tool) become JSON-RPC errors; a backend's
// failure becomes a tool result flagged isError that names the backend (CONTRACT §5).
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogStore } from '../catalog/store.js';
import { BackendRpcError, UpstreamError } from '../upstream/errors.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { allows, type Principal } from '../auth/principal.js';
import type { RequestEntry } from './call-context.js';

export class ToolRouter {
  constructor(private readonly catalog: CatalogStore, private readonly pool: UpstreamPool) {}

  /** The backend prefix of an exposed tool name that `principal` may call. */
  backendOf(name: string, principal: Principal): string | undefined {
    const route = this.catalog.catalog.routes.get(name);
    return route && allows(principal, name) ? route.prefix : undefined;
  }

  /** `entry` receives tool, backend and instance for the request log. */
  async callTool(
    params: { name?: unknown; arguments?: unknown; _meta?: unknown },
    principal: Principal,
    entry: RequestEntry | undefined,
    signal?: AbortSignal,
  ): Promise<CallToolResult> {
    const name = typeof params.name === 'string' ? params.name : '';
    const route = this.catalog.catalog.routes.get(name);
    if (entry) entry.tool = name;
    // A tool outside the principal's scope answers exactly like one that does not exist.
    if (!route || !allows(principal, name)) {
      if (entry && route) entry.status = 'denied';
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    if (entry) entry.backend = route.prefix;
    const upstreamParams: Record<string, unknown> = { name: route.original };
    if (params.arguments !== undefined) upstreamParams.arguments = params.arguments;
    if (params._meta !== undefined) upstreamParams._meta = params._meta;
    const started = performance.now();
    try {
      const { result, instance } = await this.pool.request(route.prefix, 'tools/call', upstreamParams, signal, entry?.trace);
      if (entry) {
        entry.upstreamMs = performance.now() - started;
        entry.instance = instance;
        entry.status = result.isError === true ? 'error' : 'ok';
      }
      return result as CallToolResult;
    } catch (error) {
      if (entry) {
        entry.status = 'error';
        entry.upstreamMs = performance.now() - started;
      }
      if (error instanceof BackendRpcError) throw new McpError(error.code, error.message, error.data);
      if (error instanceof UpstreamError) {
        if (entry) {
          if (error.instance) entry.instance = error.instance;
          entry.error = error.message;
        }
        return { isError: true, content: [{ type: 'text', text: `Tool ${name} failed: ${error.message}` }] };
      }
      throw error;
    }
  }
}
