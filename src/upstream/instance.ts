// One backend instance: a long-lived MCP client session (Streamable HTTP, falling back to
// legacy HTTP+SSE), reconnected with backoff, its tool list refreshed on the backend's own
// list_changed. Calls go over the lean raw path on the same session when the transport is
// Streamable HTTP, else through the SDK client.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ToolListChangedNotificationSchema,
  type JSONRPCMessage,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { InstanceSpec } from '../discovery/snapshot.js';
import { BackendRpcError, UpstreamError, neverSent } from './errors.js';
import { postJsonRpc, type RawSession } from './rpc.js';

export type InstanceState = 'connecting' | 'ready' | 'closed';

export interface InstanceOptions {
  prefix: string;
  spec: InstanceSpec;
  /** The backend's own credentials, looked up at each connect. */
  headers: () => Promise<Record<string, string>>;
  timeoutMs: number;
  maxBackoffMs: number;
  log: Logger;
  /** Its tool list changed (connect, list_changed, reconnect), or it stopped being ready. */
  onChange: () => void;
  /** Limits concurrent connects across the pool (a fleet that appears at once). */
  connectSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

const CLIENT_INFO = { name: 'mcp-gateway', version: '0.1.0' };
let rawIds = 0;

export class InstanceConnection {
  state: InstanceState = 'connecting';
  tools: readonly Tool[] = [];
  inFlight = 0;
  private client: Client | undefined;
  private raw: RawSession | undefined;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly log: Logger;

  constructor(private readonly options: InstanceOptions) {
    this.log = options.log.child({ backend: options.prefix, instance: options.spec.id });
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  get id(): string {
    return this.options.spec.id;
  }

  get url(): string {
    return this.options.spec.url;
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    try {
      const { client, raw } = await this.options.connectSlot(() => this.open());
      if (generation !== this.generation || this.state === 'closed') {
        await client.close().catch(() => undefined);
        return;
      }
      this.client = client;
      this.raw = raw;
      this.tools = await this.listTools(client);
      if (generation !== this.generation || this.isClosed()) return;
      this.attempts = 0;
      this.state = 'ready';
      this.log.info({ tools: this.tools.length, transport: raw ? 'streamable-http' : 'sse' }, 'backend instance connected');
      this.options.onChange();
    } catch (error) {
      if (generation !== this.generation || this.state === 'closed') return;
      const half = this.client;
      this.client = undefined;
      this.raw = undefined;
      void half?.close().catch(() => undefined);
      this.retryLater(error as Error);
    }
  }

  private async open(): Promise<{ client: Client; raw: RawSession | undefined }> {
    const url = new URL(this.options.spec.url);
    const headers = await this.options.headers();
    const requestInit = { headers };
    const client = this.newClient();
    const transport = new StreamableHTTPClientTransport(url, { requestInit });
    try {
      await client.connect(transport, { timeout: this.options.timeoutMs });
      return {
        client,
        raw: {
          url,
          sessionId: transport.sessionId,
          protocolVersion: transport.protocolVersion,
          headers,
        },
      };
    } catch (error) {
      await client.close().catch(() => undefined);
      // A legacy HTTP+SSE server answers the Streamable HTTP POST with 4xx (404/405).
      const status = (error as { code?: number }).code;
      if (typeof status !== 'number' || status < 400 || status >= 500) throw error;
      const legacy = this.newClient();
      await legacy.connect(new SSEClientTransport(url, { requestInit }), { timeout: this.options.timeoutMs });
      return { client: legacy, raw: undefined };
    }
  }

  private newClient(): Client {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.refresh());
    client.onerror = (error) => {
      // The SDK reports a lost GET stream here; the instance may be gone: reconnect.
      if (/SSE stream disconnected|Maximum reconnection|Failed to reconnect/.test(error.message)) this.lost(error);
    };
    client.onclose = () => {
      if (this.client === client && this.state !== 'closed') this.lost(new Error('connection closed'));
    };
    return client;
  }

  private async listTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.options.timeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  private refresh(): void {
    const client = this.client;
    if (!client || this.state !== 'ready') return;
    this.listTools(client).then((tools) => {
      if (this.client !== client) return;
      this.tools = tools;
      this.log.info({ tools: tools.length }, 'backend tool list changed');
      this.options.onChange();
    }, (error: Error) => this.log.warn({ err: error.message }, 'refreshing the tool list failed'));
  }

  private retryLater(error: Error): void {
    this.attempts += 1;
    const delay = Math.min(this.options.maxBackoffMs, 100 * 2 ** Math.min(this.attempts, 12));
    const jittered = delay / 2 + Math.random() * (delay / 2);
    if (this.attempts === 1 || this.attempts % 10 === 0) {
      this.log.warn({ err: error.message, attempts: this.attempts, retryInMs: Math.round(jittered) }, 'backend instance unreachable; retrying');
    }
    this.timer = setTimeout(() => void this.connect(), jittered);
  }

  /** The session broke: stop routing here at once, then reconnect. */
  private lost(error: Error): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    this.state = 'connecting';
    this.log.warn({ err: error.message }, 'backend instance connection lost; reconnecting');
    const client = this.client;
    this.client = undefined;
    this.raw = undefined;
    void client?.close().catch(() => undefined);
    this.options.onChange();
    this.retryLater(error);
  }

  /**
   * Sends one request (tools/call and friends) and resolves with its result.
   * Throws BackendRpcError for the backend's own JSON-RPC errors, UpstreamError otherwise.
   */
  async request(method: string, params: Record<string, unknown>, signal?: AbortSignal, headers?: Record<string, string>): Promise<Record<string, unknown>> {
    const client = this.client;
    if (!client || this.state !== 'ready') throw new UpstreamError(`backend "${this.options.prefix}" instance ${this.id} is not connected`, this.options.prefix, this.id, true);
    this.inFlight += 1;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      if (!this.raw) {
        return (await client.request({ method, params }, undefined as never, { signal: combined }));
      }
      const message = { jsonrpc: '2.0', id: `gw-${++rawIds}`, method, params } as JSONRPCMessage;
      let answer;
      try {
        answer = await postJsonRpc(this.raw, message, combined, headers);
      } catch (error) {
        if (timeout.aborted) throw new UpstreamError(`backend "${this.options.prefix}" did not answer within ${this.options.timeoutMs} ms`, this.options.prefix, this.id);
        if (signal?.aborted) throw new UpstreamError('request cancelled', this.options.prefix, this.id);
        const retryable = neverSent(error);
        this.lost(error as Error);
        throw new UpstreamError(`backend "${this.options.prefix}" instance ${this.id} failed: ${(error as Error).message}`, this.options.prefix, this.id, retryable);
      }
      if (answer.status === 404) {
        this.lost(new Error('backend answered 404: session expired'));
        throw new UpstreamError(`backend "${this.options.prefix}" lost the session`, this.options.prefix, this.id, true, true);
      }
      const response = answer.response as { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } } | undefined;
      if (response?.error) throw new BackendRpcError(response.error.code, response.error.message, response.error.data);
      if (answer.status >= 300 || !response?.result) {
        throw new UpstreamError(`backend "${this.options.prefix}" answered HTTP ${answer.status} without a result`, this.options.prefix, this.id);
      }
      return response.result;
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Resolves true once ready again (after a reconnect), false after `ms` or when closed. */
  async waitReady(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.state === 'connecting' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.isClosed() ? false : this.state === 'ready';
  }

  /** Stops routing here; ends the backend session once calls in flight are done. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.generation += 1;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const deadline = Date.now() + this.options.timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const transport = client.transport;
    if (transport instanceof StreamableHTTPClientTransport) {
      await Promise.race([transport.terminateSession().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    await client.close().catch(() => undefined);
  }
}
