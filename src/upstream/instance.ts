// One backend instance: a long-lived MCP client session (Streamable HTTP, falling back to
// legacy HTTP+SSE), reconnected with backoff. It keeps the backend's lists (tools, prompts,
// resources, resource templates), re-read on the backend's own list_changed. Calls go over
// the lean raw path on the same session when the transport is Streamable HTTP, else through
// the SDK client; a call's progress, log messages and backend-to-client requests reach the
// caller's handlers, and a cancelled call is cancelled at the backend too.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ErrorCode,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type JSONRPCMessage,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { InstanceSpec } from '../discovery/snapshot.js';
import { BackendRpcError, UpstreamError, neverSent } from './errors.js';
import { toAbortSignal, type CancelSource } from './cancel.js';
import { streamFetch } from './stream-fetch.js';
import { postJsonRpc, postMessage, type RawResult, type RawSession, type StreamHandlers } from './rpc.js';

export type InstanceState = 'connecting' | 'ready' | 'closed';

export interface Lists {
  tools: readonly Tool[];
  prompts: readonly Prompt[];
  resources: readonly Resource[];
  templates: readonly ResourceTemplate[];
}

export const EMPTY_LISTS: Lists = Object.freeze({ tools: [], prompts: [], resources: [], templates: [] });

export interface InstanceOptions {
  prefix: string;
  spec: InstanceSpec;
  /** The backend's own credentials, looked up at each connect. */
  headers: () => Promise<Record<string, string>>;
  timeoutMs: number;
  maxBackoffMs: number;
  log: Logger;
  /** Its lists changed (connect, list_changed, reconnect), or it stopped being ready. */
  onChange: () => void;
  /** The backend says a resource changed (`uri` as the backend names it). */
  onResourceUpdated?: (uri: string) => void;
  /** Limits concurrent connects across the pool (a fleet that appears at once must not stampede). */
  connectSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface CallOptions {
  signal?: CancelSource | undefined;
  headers?: Record<string, string> | undefined;
  handlers?: StreamHandlers | undefined;
  /** Given, a JSON answer's result may come back as the backend's text (a RawResult), heard here as soon as it is in (see PostOptions). */
  onPassthrough?: ((result: RawResult) => void) | undefined;
}

const CLIENT_INFO = { name: 'mcp-gateway', version: '0.1.0' };
/** One schema validator for every upstream client: an Ajv per client costs ~20 KB and CPU. */
const VALIDATOR = new AjvJsonSchemaValidator();
const AnyResult = z.looseObject({});
let rawIds = 0;

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

export class InstanceConnection {
  state: InstanceState = 'connecting';
  lists: Lists = EMPTY_LISTS;
  capabilities: ServerCapabilities = {};
  inFlight = 0;
  private client: Client | undefined;
  private raw: RawSession | undefined;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly subscriptions = new Set<string>();
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
      this.capabilities = client.getServerCapabilities() ?? {};
      this.lists = await this.readLists(client);
      for (const uri of this.subscriptions) await client.subscribeResource({ uri }).catch(() => undefined);
      if (generation !== this.generation || this.isClosed()) return;
      this.attempts = 0;
      this.state = 'ready';
      this.log.info({ tools: this.lists.tools.length, prompts: this.lists.prompts.length, resources: this.lists.resources.length, transport: raw ? 'streamable-http' : 'sse' }, 'backend instance connected');
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
    const stdio = this.options.spec.stdio;
    if (stdio) {
      // A local server: started here, restarted by the reconnect loop when it exits.
      const client = this.newClient();
      const transport = new StdioClientTransport({
        command: stdio.command,
        args: [...stdio.args],
        env: { ...getDefaultEnvironment(), ...(stdio.env ?? {}) },
        ...(stdio.cwd ? { cwd: stdio.cwd } : {}),
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.log.info({ stderr: line }, 'stdio backend says');
      });
      await client.connect(transport, { timeout: this.options.timeoutMs });
      return { client, raw: undefined };
    }
    const url = new URL(this.options.spec.url);
    const headers = await this.options.headers();
    const requestInit = { headers };
    const client = this.newClient();
    const transport = new StreamableHTTPClientTransport(url, { requestInit, fetch: streamFetch });
    try {
      await client.connect(transport, { timeout: this.options.timeoutMs });
      return { client, raw: { url, sessionId: transport.sessionId, protocolVersion: transport.protocolVersion, headers } };
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
    const client = new Client(CLIENT_INFO, { capabilities: {}, jsonSchemaValidator: VALIDATOR });
    const refresh = (): void => this.refresh();
    client.setNotificationHandler(ToolListChangedNotificationSchema, refresh);
    client.setNotificationHandler(PromptListChangedNotificationSchema, refresh);
    client.setNotificationHandler(ResourceListChangedNotificationSchema, refresh);
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => this.options.onResourceUpdated?.(n.params.uri));
    client.onerror = (error) => {
      // A dropped GET stream (a silent backend's stream hits fetch's 300 s body timeout, for
      // one) is re-opened by the SDK itself ("SSE stream disconnected"); only when that fails
      // is the instance treated as lost. Dead instances are also noticed by calls (connection
      // refused) and by Consul.
      if (/Maximum reconnection|Failed to reconnect/.test(error.message)) this.lost(error);
    };
    client.onclose = () => {
      if (this.client === client && this.state !== 'closed') this.lost(new Error('connection closed'));
    };
    return client;
  }

  /** Every page of every list the backend offers. */
  private async readLists(client: Client): Promise<Lists> {
    const caps = client.getServerCapabilities() ?? {};
    const opts = { timeout: this.options.timeoutMs };
    const pages = async <T>(read: (cursor?: string) => Promise<{ items: T[]; next?: string | undefined }>): Promise<T[]> => {
      const all: T[] = [];
      let cursor: string | undefined;
      do {
        const page = await read(cursor);
        all.push(...page.items);
        cursor = page.next;
      } while (cursor);
      return all;
    };
    const param = (cursor?: string): { cursor: string } | undefined => (cursor ? { cursor } : undefined);
    const [tools, prompts, resources, templates] = await Promise.all([
      caps.tools ? pages(async (c) => { const r = await client.listTools(param(c), opts); return { items: r.tools, next: r.nextCursor }; }) : [],
      caps.prompts ? pages(async (c) => { const r = await client.listPrompts(param(c), opts); return { items: r.prompts, next: r.nextCursor }; }) : [],
      caps.resources ? pages(async (c) => { const r = await client.listResources(param(c), opts); return { items: r.resources, next: r.nextCursor }; }) : [],
      caps.resources ? pages(async (c) => { const r = await client.listResourceTemplates(param(c), opts); return { items: r.resourceTemplates, next: r.nextCursor }; }) : [],
    ]);
    return { tools, prompts, resources, templates };
  }

  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  /** Re-reads the lists; list_changed bursts coalesce into one pass after the current one. */
  private refresh(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const client = this.client;
        if (!client || this.state !== 'ready') break;
        try {
          const lists = await this.readLists(client);
          if (this.client !== client) break;
          this.lists = lists;
          this.log.info({ tools: lists.tools.length, prompts: lists.prompts.length, resources: lists.resources.length }, 'backend lists changed');
          this.options.onChange();
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'refreshing the backend lists failed');
        }
      } while (this.refreshAgain);
      this.refreshing = undefined;
    })();
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
   * Sends one request (tools/call, prompts/get, resources/read, ...) and resolves with its
   * result. Throws BackendRpcError for the backend's own JSON-RPC errors, UpstreamError otherwise.
   * Only with `onPassthrough` may the result be a RawResult.
   */
  async request(method: string, params: Record<string, unknown>, options: CallOptions = {}): Promise<Record<string, unknown> | RawResult> {
    const client = this.client;
    if (!client || this.state !== 'ready') throw new UpstreamError(`backend "${this.options.prefix}" instance ${this.id} is not connected`, this.options.prefix, this.id, true);
    this.inFlight += 1;
    try {
      if (!this.raw) return await this.requestWithSdk(client, method, params, options.signal);
      const upstreamId = `gw-${++rawIds}`;
      const message = { jsonrpc: '2.0', id: upstreamId, method, params } as JSONRPCMessage;
      const raw = this.raw;
      const cancel = (): void => {
        // Tell the backend to stop, on the same session (the spec's notifications/cancelled).
        void postMessage(raw, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: upstreamId, reason: 'cancelled by the client' } }).catch(() => undefined);
      };
      let answer;
      try {
        // The deadline is undici's: until the answer's headers, then between stream chunks, so
        // progress (and any other activity on the stream) restarts it. No timer of our own.
        answer = await postJsonRpc(raw, message, { signal: options.signal, onAbort: cancel, timeoutMs: this.options.timeoutMs, headers: options.headers, handlers: options.handlers, onPassthrough: options.onPassthrough });
      } catch (error) {
        if (isTimeout(error)) {
          cancel();
          throw new UpstreamError(`backend "${this.options.prefix}" did not answer within ${this.options.timeoutMs} ms`, this.options.prefix, this.id);
        }
        if (options.signal?.aborted) throw new UpstreamError('request cancelled', this.options.prefix, this.id);
        const retryable = neverSent(error);
        this.lost(error as Error);
        throw new UpstreamError(`backend "${this.options.prefix}" instance ${this.id} failed: ${(error as Error).message}`, this.options.prefix, this.id, retryable);
      }
      if (answer.result) return answer.result;
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

  /** The SDK client's path (legacy SSE and stdio backends): its own timeout and cancellation. */
  private async requestWithSdk(client: Client, method: string, params: Record<string, unknown>, cancel: CancelSource | undefined): Promise<Record<string, unknown>> {
    try {
      return await client.request({ method, params }, AnyResult, { ...(cancel ? { signal: toAbortSignal(cancel) } : {}), timeout: this.options.timeoutMs, resetTimeoutOnProgress: true });
    } catch (error) {
      // The backend's own JSON-RPC errors pass on; the SDK's transport-level ones do not.
      if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number)) {
        throw new UpstreamError(`backend "${this.options.prefix}" did not answer within ${this.options.timeoutMs} ms`, this.options.prefix, this.id);
      }
      if (error instanceof McpError && error.code !== (ErrorCode.ConnectionClosed as number)) {
        throw new BackendRpcError(error.code, error.message.replace(/^MCP error -?\d+: /, ''), error.data);
      }
      throw new UpstreamError(`backend "${this.options.prefix}" instance ${this.id} failed: ${(error as Error).message}`, this.options.prefix, this.id);
    }
  }

  /** Subscribes this instance's session to a resource (kept across reconnects). */
  async subscribe(uri: string, on: boolean): Promise<void> {
    if (on) this.subscriptions.add(uri);
    else this.subscriptions.delete(uri);
    await this.request(on ? 'resources/subscribe' : 'resources/unsubscribe', { uri });
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
