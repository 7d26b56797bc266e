// The stdio bridge (pattern 1): a stdio MCP server that relays every JSON-RPC message, both
// ways, to a remote Streamable HTTP endpoint, at the transport level (no SDK Server or Client
// in between, so requests, answers, notifications, progress, cancellation and server-to-client
// requests all pass untouched). It outlives the remote session: when the gateway restarts (404
// on the session, connection refused) it opens a new session by replaying the client's
// `initialize` (answer swallowed) and `notifications/initialized`, then resends what failed.
// stdout is the protocol: logs go to stderr.
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { createLogger, type Logger } from '../log.js';

export interface StdioBridgeOptions {
  /** The remote MCP endpoint, e.g. http://127.0.0.1:8000/mcp. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` on every HTTP request. */
  token?: string | undefined;
  /** Default: process.stdin. */
  stdin?: Readable;
  /** Default: process.stdout. Nothing else may write to it. */
  stdout?: Writable;
  /** Default: JSON lines on stderr at LOG_LEVEL (info). */
  log?: Logger;
  /** How long a message may wait for an unreachable remote before it fails, ms. Default 30 000. */
  deadlineMs?: number;
  /** Messages that may wait for the remote at once; beyond that they fail at once. Default 1000. */
  maxQueued?: number;
  /** Cap of the reconnect backoff, ms. Default 5000. */
  maxBackoffMs?: number;
  /** How long one `initialize` attempt may take, ms. Default 10 000. */
  initializeTimeoutMs?: number;
}

export interface StdioBridge {
  /** Resolves once stdin ended (or close() ran) and the remote session was ended. */
  readonly closed: Promise<void>;
  /** The current remote session id; it changes when the bridge reconnects. */
  readonly sessionId: string | undefined;
  /** Remote sessions opened after the first one. */
  readonly reconnects: number;
  close(): Promise<void>;
}

/** JSON-RPC code of a request the bridge could not deliver (the SDK's ConnectionClosed). */
export const BRIDGE_UNAVAILABLE_CODE = -32000;

const INIT_ID_PREFIX = 'mcp-gateway-bridge/initialize/';
const REPLAY_ID_PREFIX = 'mcp-gateway-bridge/replay/';
const FIRST_BACKOFF_MS = 200;
// The SDK re-opens a dropped GET event stream itself; when that fails a few times (or the
// session is gone: 404) the bridge takes over and opens a new session.
const STREAM_RECONNECTION = { initialReconnectionDelay: 250, maxReconnectionDelay: 2000, reconnectionDelayGrowFactor: 2, maxRetries: 3 };
// Connection errors that prove a request never reached the remote, so resending it is safe.
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const LIST_CHANGED = ['tools', 'prompts', 'resources'] as const;
// Requests that change nothing: when the connection breaks under one, it is simply sent again.
const REPEATABLE = new Set(['ping', 'tools/list', 'prompts/list', 'prompts/get', 'resources/list', 'resources/templates/list', 'resources/read', 'completion/complete']);
const MAX_REPEATS = 3;

type Outcome = 'session-lost' | 'unreachable' | 'rejected' | 'aborted' | 'ambiguous';

/** What a failed send means for the message: resend it (never processed), or answer with an error. */
export function classifySendError(error: unknown): Outcome {
  if (error instanceof StreamableHTTPError) {
    if (error.code === 404) return 'session-lost';
    if (error.code === 503) return 'unreachable';
    return 'rejected';
  }
  if (error instanceof Error && error.name === 'AbortError') return 'aborted';
  return NEVER_SENT.has(connectionCode(error) ?? '') ? 'unreachable' : 'ambiguous';
}

function connectionCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.find((e) => typeof e.code === 'string')?.code;
  return typeof inner === 'string' ? inner : undefined;
}

function describe(error: unknown): string {
  if (error instanceof StreamableHTTPError) return `HTTP ${error.code}: ${error.message.replace(/^Streamable HTTP error: /, '')}`;
  const code = connectionCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}

/** The JSON-RPC error the remote put in a rejected HTTP answer (429, 401, ...), if any. */
function rejectionError(error: unknown): JSONRPCErrorResponse['error'] | undefined {
  if (!(error instanceof StreamableHTTPError)) return undefined;
  const start = error.message.indexOf('{');
  if (start < 0) return undefined;
  try {
    const body = JSON.parse(error.message.slice(start)) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'number' && typeof body.error.message === 'string') return body.error as JSONRPCErrorResponse['error'];
  } catch {
    // not JSON: the caller falls back to the HTTP status
  }
  return undefined;
}

class BridgeError extends Error {}

interface Upstream {
  readonly generation: number;
  readonly transport: StreamableHTTPClientTransport;
  /** Given up: takes no new messages; closed once the POSTs under way on it have settled. */
  lost: boolean;
  /** POSTs under way: they end on their own (an answer, a 404, a broken connection), never aborted by us. */
  sends: number;
  /** Aborted when the transport is closed: nothing more comes from it. */
  readonly dead: AbortController;
}

interface ClientInit {
  readonly request: JSONRPCRequest;
  /** Whether the client got its answer (from the first session). */
  answered: boolean;
}

interface InitializeResultLike {
  protocolVersion?: string;
  capabilities?: Partial<Record<(typeof LIST_CHANGED)[number], { listChanged?: boolean }>>;
}

class Relay {
  private current: Upstream | undefined;
  private connecting: Promise<Upstream> | undefined;
  private generation = 0;
  private sessions = 0;
  private init: ClientInit | undefined;
  private initialized: JSONRPCNotification | undefined;
  /** Session state the client set up, replayed on a new session: log level, resource subscriptions. */
  private logLevel: JSONRPCRequest['params'] | undefined;
  private readonly subscriptions = new Map<string, JSONRPCRequest['params']>();
  private serverInfo: InitializeResultLike | undefined;
  /**
   * Client requests not yet answered: the session they were sent on (undefined: not sent yet)
   * and whether their POST is still under way (then its own send settles it, not lose()).
   */
  private readonly pending = new Map<RequestId, { generation: number | undefined; sending: boolean }>();
  /** Server-to-client requests awaiting the client's answer, with their session. */
  private readonly serverRequests = new Map<RequestId, number>();
  private waiting = 0;
  private lastError = 'not connected yet';
  private readonly stop = new AbortController();
  private readonly stdio: StdioServerTransport;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly deadlineMs: number;
  private readonly maxQueued: number;
  private readonly maxBackoffMs: number;
  private readonly initializeTimeoutMs: number;
  private closing: Promise<void> | undefined;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });

  constructor(private readonly opts: StdioBridgeOptions, private readonly log: Logger) {
    this.url = new URL(opts.url);
    this.headers = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
    this.deadlineMs = opts.deadlineMs ?? 30_000;
    this.maxQueued = opts.maxQueued ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.initializeTimeoutMs = opts.initializeTimeoutMs ?? 10_000;
    this.stdio = new StdioServerTransport(opts.stdin, opts.stdout);
  }

  get sessionId(): string | undefined {
    return this.current?.transport.sessionId;
  }

  get reconnects(): number {
    return Math.max(0, this.sessions - 1);
  }

  async start(): Promise<void> {
    const stdin = this.opts.stdin ?? process.stdin;
    const stdout = this.opts.stdout ?? process.stdout;
    this.stdio.onmessage = (message) => this.fromClient(message);
    this.stdio.onerror = (error) => this.log.warn({ err: error.message }, 'bad message from the client');
    // A client that goes away (stdin ends, stdout breaks) ends the bridge.
    stdin.once('end', () => void this.close());
    stdin.once('close', () => void this.close());
    stdout.on('error', (error) => {
      this.log.warn({ err: error.message }, 'stdout failed');
      void this.close();
    });
    await this.stdio.start();
    this.log.info({ url: this.url.href, auth: this.opts.token ? 'bearer' : 'none' }, 'stdio bridge ready');
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stop.abort();
    await this.stdio.close().catch(() => undefined);
    const upstream = this.current;
    this.current = undefined;
    if (upstream) {
      // Ends the remote session (DELETE) so the gateway frees it now rather than at expiry.
      await Promise.race([upstream.transport.terminateSession().catch(() => undefined), sleep(2000, undefined, { ref: false })]);
      this.discard(upstream);
    }
    this.log.info('stdio bridge closed');
    this.resolveClosed();
  }

  // ---- client → remote ----

  private fromClient(message: JSONRPCMessage): void {
    if (this.stop.signal.aborted) return;
    if ('method' in message) {
      if ('id' in message) {
        if (message.method === 'initialize') {
          void this.startSession(message);
          return;
        }
        this.remember(message);
        void this.forward(message);
        return;
      }
      if (message.method === 'notifications/initialized') this.initialized = message;
      void this.forward(message);
      return;
    }
    void this.answerServer(message);
  }

  /** The client's `initialize`: it opens the first session, and is replayed for later ones. */
  private async startSession(request: JSONRPCRequest): Promise<void> {
    if (this.init) {
      // A second initialize over the same stdio: start over with a fresh session.
      this.log.info('client initialized again; opening a new session');
      if (this.current) this.lose(this.current, 'client re-initialized', false);
    }
    const init: ClientInit = { request, answered: false };
    this.init = init;
    this.initialized = undefined;
    this.serverInfo = undefined;
    this.logLevel = undefined;
    this.subscriptions.clear();
    try {
      await this.session(Date.now() + this.deadlineMs);
    } catch (error) {
      if (this.init === init) this.init = undefined;
      if (!init.answered) {
        init.answered = true;
        this.toClient({ jsonrpc: '2.0', id: request.id, error: this.unavailable(error) });
      }
    }
  }

  /** Sends a request or notification, waiting (bounded) for a session and resending what never arrived. */
  private async forward(message: JSONRPCRequest | JSONRPCNotification): Promise<void> {
    const deadline = Date.now() + this.deadlineMs;
    const id = 'id' in message ? message.id : undefined;
    if (id !== undefined) this.pending.set(id, { generation: undefined, sending: false });
    let repeats = 0;
    for (;;) {
      if (repeats > 0) await sleep(100 * repeats);
      let upstream: Upstream;
      try {
        upstream = await this.session(deadline);
      } catch (error) {
        this.fail(message, this.unavailable(error));
        return;
      }
      const entry = id !== undefined ? this.pending.get(id) : undefined;
      if (id !== undefined) {
        if (!entry) return;
        entry.generation = upstream.generation;
        entry.sending = true;
      }
      upstream.sends += 1;
      try {
        this.log.debug({ method: message.method, id, generation: upstream.generation }, 'sending');
        await upstream.transport.send(message);
        if (entry) entry.sending = false;
        return;
      } catch (error) {
        if (entry) entry.sending = false;
        this.log.debug({ method: message.method, id, generation: upstream.generation, err: describe(error) }, 'send failed');
        // Already answered (by the remote, or failed meanwhile).
        if (id !== undefined && this.pending.get(id) !== entry) return;
        const outcome = classifySendError(error);
        if (outcome === 'session-lost' || outcome === 'unreachable') {
          // Provably never processed: safe to send again, on the next session.
          if (entry) entry.generation = undefined;
          repeats = 0;
          this.lose(upstream, describe(error));
          continue;
        }
        if (outcome === 'ambiguous' && (id === undefined || REPEATABLE.has(message.method)) && repeats < MAX_REPEATS) {
          repeats += 1;
          // Not on any session while it waits, so losing this one does not fail it.
          if (entry) entry.generation = undefined;
          this.log.debug({ method: message.method, err: describe(error) }, 'connection broke; sending again');
          continue;
        }
        if (outcome === 'aborted' && upstream.dead.signal.aborted) {
          // The bridge closed (or the session was dropped) while this POST was under way: it may have run.
          this.fail(message, { code: BRIDGE_UNAVAILABLE_CODE, message: `mcp-gateway stdio bridge: the remote session was lost before the answer arrived (${this.lastError}); the request may or may not have run` });
          return;
        }
        this.log.warn({ method: message.method, err: describe(error), outcome }, 'could not deliver a message');
        const rejected = rejectionError(error);
        this.fail(message, rejected ?? {
          code: outcome === 'rejected' ? -32603 : BRIDGE_UNAVAILABLE_CODE,
          message: outcome === 'rejected'
            ? `mcp-gateway stdio bridge: the remote answered ${describe(error)}`
            : `mcp-gateway stdio bridge: the connection to the remote broke while the request was in flight (it may or may not have run): ${describe(error)}`,
        });
        return;
      } finally {
        upstream.sends -= 1;
        if (upstream.lost && upstream.sends === 0) this.discard(upstream);
      }
    }
  }

  /** The client's answer to a server-to-client request goes to the session that asked, if it lives. */
  private async answerServer(message: JSONRPCMessage): Promise<void> {
    const id = 'id' in message ? message.id : undefined;
    const generation = id !== undefined ? this.serverRequests.get(id) : undefined;
    if (id !== undefined) this.serverRequests.delete(id);
    const upstream = this.current;
    if (generation === undefined || !upstream || upstream.generation !== generation) {
      this.log.debug({ id }, 'dropped an answer for a session that is gone');
      return;
    }
    try {
      await upstream.transport.send(message);
    } catch (error) {
      this.log.warn({ id, err: describe(error) }, 'could not deliver an answer to the remote');
    }
  }

  private fail(message: JSONRPCRequest | JSONRPCNotification, error: JSONRPCErrorResponse['error']): void {
    if (!('id' in message)) {
      this.log.warn({ method: message.method, err: error.message }, 'dropped a notification');
      return;
    }
    if (!this.pending.delete(message.id)) return;
    this.toClient({ jsonrpc: '2.0', id: message.id, error });
  }

  private unavailable(error: unknown): JSONRPCErrorResponse['error'] {
    if (error instanceof BridgeError) return { code: BRIDGE_UNAVAILABLE_CODE, message: error.message };
    return { code: BRIDGE_UNAVAILABLE_CODE, message: `mcp-gateway stdio bridge: ${describe(error)}` };
  }

  // ---- remote → client ----

  private fromRemote(upstream: Upstream, message: JSONRPCMessage): void {
    if (upstream.dead.signal.aborted) return;
    // A lost session still hands over answers to POSTs that were under way on it; nothing else.
    if ('method' in message) {
      if (upstream.lost) return;
      if ('id' in message) this.serverRequests.set(message.id, upstream.generation);
      this.toClient(message);
      return;
    }
    const id = 'id' in message ? message.id : undefined;
    const entry = id !== undefined ? this.pending.get(id) : undefined;
    if (id === undefined || entry?.generation !== upstream.generation) {
      this.log.debug({ id }, 'dropped an answer nobody waits for');
      return;
    }
    this.pending.delete(id);
    this.toClient(message);
  }

  private toClient(message: JSONRPCMessage): void {
    if (this.stop.signal.aborted) return;
    this.stdio.send(message).catch((error: Error) => this.log.warn({ err: error.message }, 'could not write to stdout'));
  }

  private onRemoteError(upstream: Upstream, error: Error): void {
    if (upstream.dead.signal.aborted || upstream.lost) return;
    // 404: the remote no longer knows the session (it restarted). "Maximum reconnection
    // attempts": the SDK could not re-open the event stream, so notifications would be lost.
    if (error instanceof StreamableHTTPError && error.code === 404) this.lose(upstream, 'session not found (404)');
    else if (error.message.startsWith('Maximum reconnection attempts')) this.lose(upstream, 'event stream lost');
    else this.log.debug({ err: describe(error) }, 'remote transport error');
  }

  // ---- sessions ----

  /** The current session, or the next one, waiting at most until `deadline` and within the queue bound. */
  private async session(deadline: number): Promise<Upstream> {
    if (this.current) return this.current;
    if (this.waiting >= this.maxQueued) throw new BridgeError(`mcp-gateway stdio bridge: ${this.waiting} messages already wait for the remote`);
    this.waiting += 1;
    const timer = new AbortController();
    try {
      return await Promise.race([
        this.ensureSession(),
        sleep(Math.max(0, deadline - Date.now()), undefined, { signal: timer.signal }).then(() => {
          throw new BridgeError(`mcp-gateway stdio bridge: the remote ${this.url.href} is unreachable (${this.lastError}); gave up after ${this.deadlineMs / 1000} s`);
        }),
      ]);
    } finally {
      timer.abort();
      this.waiting -= 1;
    }
  }

  private ensureSession(): Promise<Upstream> {
    if (this.current) return Promise.resolve(this.current);
    if (this.stop.signal.aborted) return Promise.reject(new BridgeError('mcp-gateway stdio bridge: closed'));
    this.connecting ??= this.connectLoop().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectLoop(): Promise<Upstream> {
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) {
        const base = Math.min(this.maxBackoffMs, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
        await sleep(base * (0.8 + Math.random() * 0.4), undefined, { signal: this.stop.signal }).catch(() => undefined);
      }
      if (this.stop.signal.aborted) throw new BridgeError('mcp-gateway stdio bridge: closed');
      const init = this.init;
      if (!init) throw new BridgeError('mcp-gateway stdio bridge: the client has not initialized');
      try {
        const upstream = await this.open(init);
        if (upstream.lost || upstream.dead.signal.aborted) continue;
        this.current = upstream;
        this.sessions += 1;
        if (this.sessions > 1) this.announceReconnect(upstream);
        return upstream;
      } catch (error) {
        if (error instanceof BridgeError) throw error;
        this.lastError = describe(error);
        // Every attempt at debug; the first and every tenth at warn, so a long outage stays readable.
        const level = attempt % 10 === 0 ? 'warn' : 'debug';
        this.log[level]({ attempt: attempt + 1, err: this.lastError }, 'remote unavailable; retrying');
      }
    }
  }

  /** Opens a session by sending the client's `initialize` (with a bridge id) and, on replays, `initialized`. */
  private async open(init: ClientInit): Promise<Upstream> {
    const generation = ++this.generation;
    const transport = new StreamableHTTPClientTransport(this.url, { requestInit: { headers: this.headers }, reconnectionOptions: STREAM_RECONNECTION });
    const upstream: Upstream = { generation, transport, lost: false, sends: 0, dead: new AbortController() };
    const initId = `${INIT_ID_PREFIX}${generation}`;
    let answer!: (message: JSONRPCMessage) => void;
    const answered = new Promise<JSONRPCMessage>((resolve) => {
      answer = resolve;
    });
    transport.onmessage = (message: JSONRPCMessage) => {
      if (!('method' in message) && 'id' in message && message.id === initId) answer(message);
      else this.fromRemote(upstream, message);
    };
    transport.onerror = (error: Error) => this.onRemoteError(upstream, error);
    try {
      await transport.start();
      await transport.send({ ...init.request, id: initId });
      const reply = await Promise.race([
        answered,
        sleep(this.initializeTimeoutMs, undefined, { signal: upstream.dead.signal, ref: false }).then(() => {
          throw new Error(`no answer to initialize within ${this.initializeTimeoutMs} ms`);
        }),
      ]);
      // The client initialized again meanwhile: the loop goes on with the new one.
      if (this.init !== init) throw new Error('initialize superseded');
      const first = !init.answered;
      if ('error' in reply) {
        if (first) {
          // The remote refused the client's own initialize: that is the client's answer.
          init.answered = true;
          this.init = undefined;
          this.toClient({ ...reply, id: init.request.id });
          throw new BridgeError(`mcp-gateway stdio bridge: initialize refused: ${reply.error.message}`);
        }
        throw new Error(`initialize refused: ${reply.error.message}`);
      }
      const result = ('result' in reply ? reply.result : {}) as InitializeResultLike;
      if (result.protocolVersion) transport.setProtocolVersion(result.protocolVersion);
      if (first) {
        init.answered = true;
        this.serverInfo = result;
        this.toClient({ jsonrpc: '2.0', id: init.request.id, result: (reply as { result: Record<string, unknown> }).result });
      } else {
        if (result.protocolVersion !== this.serverInfo?.protocolVersion) {
          this.log.warn({ before: this.serverInfo?.protocolVersion, now: result.protocolVersion }, 'remote answered with another protocol version');
        }
        // Sending `initialized` also makes the SDK open the GET event stream.
        if (this.initialized) await transport.send(this.initialized);
        this.replayState(upstream);
      }
      this.log.info({ session: transport.sessionId, generation, reconnect: !first }, first ? 'remote session opened' : 'remote session re-opened');
      return upstream;
    } catch (error) {
      this.discard(upstream);
      if (!(error instanceof BridgeError) && !init.answered) {
        // The first initialize fails fast on a refusal (bad token, wrong URL); it retries only
        // while the remote is unreachable.
        const status = error instanceof StreamableHTTPError ? error.code ?? 0 : 0;
        if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          throw new BridgeError(`mcp-gateway stdio bridge: the remote refused the connection: ${describe(error)}`);
        }
      }
      throw error;
    }
  }

  /** Re-applies the client's log level and subscriptions on a new session (answers dropped). */
  private replayState(upstream: Upstream): void {
    const requests: [string, JSONRPCRequest['params']][] = [
      ...(this.logLevel ? [['logging/setLevel', this.logLevel] as [string, JSONRPCRequest['params']]] : []),
      ...[...this.subscriptions.values()].map((params) => ['resources/subscribe', params] as [string, JSONRPCRequest['params']]),
    ];
    requests.forEach(([method, params], n) => {
      upstream.transport.send({ jsonrpc: '2.0', id: `${REPLAY_ID_PREFIX}${upstream.generation}/${n}`, method, params })
        .catch((error: unknown) => this.log.warn({ method, err: describe(error) }, 'could not restore session state'));
    });
  }

  /** Notes what a new session must be told again. */
  private remember(message: JSONRPCRequest): void {
    const uri = (message.params as { uri?: unknown } | undefined)?.uri;
    if (message.method === 'logging/setLevel') this.logLevel = message.params;
    else if (message.method === 'resources/subscribe' && typeof uri === 'string') this.subscriptions.set(uri, message.params);
    else if (message.method === 'resources/unsubscribe' && typeof uri === 'string') this.subscriptions.delete(uri);
  }

  /** After a new session: the lists may differ and notifications sent meanwhile were lost. */
  private announceReconnect(upstream: Upstream): void {
    this.log.info({ session: upstream.transport.sessionId, reconnects: this.reconnects }, 'reconnected to the remote');
    for (const kind of LIST_CHANGED) {
      if (this.serverInfo?.capabilities?.[kind]?.listChanged) this.toClient({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
    }
  }

  /**
   * Gives a session up and (for the current one) reconnects at once. POSTs under way on it are
   * not aborted: each ends on its own, and a 404 or refused connection sends it again on the next
   * session; the transport closes when the last one settles.
   */
  private lose(upstream: Upstream, reason: string, reconnect = true): void {
    if (upstream.lost || upstream.dead.signal.aborted) return;
    upstream.lost = true;
    const wasCurrent = this.current === upstream;
    if (wasCurrent) {
      this.current = undefined;
      this.lastError = reason;
      this.log.warn({ session: upstream.transport.sessionId, reason }, 'remote session lost');
    }
    if (upstream.sends === 0) this.discard(upstream);
    // Reconnect now, not at the next client message, so notifications flow again.
    if (wasCurrent && reconnect && this.init?.answered) {
      this.ensureSession().catch((error: unknown) => this.log.debug({ err: describe(error) }, 'reconnect stopped'));
    }
  }

  /** Closes a session's transport; requests still waiting for an answer on it fail. */
  private discard(upstream: Upstream): void {
    if (upstream.dead.signal.aborted) return;
    upstream.lost = true;
    upstream.dead.abort();
    const { transport } = upstream;
    transport.onmessage = undefined;
    transport.onerror = undefined;
    transport.onclose = undefined;
    transport.close().catch(() => undefined);
    if (this.current === upstream) this.current = undefined;
    for (const [id, entry] of this.pending) {
      if (entry.generation !== upstream.generation || entry.sending) continue;
      this.pending.delete(id);
      this.log.debug({ id, generation: upstream.generation }, 'failing a request of the lost session');
      this.toClient({
        jsonrpc: '2.0',
        id,
        error: { code: BRIDGE_UNAVAILABLE_CODE, message: `mcp-gateway stdio bridge: the remote session was lost before the answer arrived (${this.lastError}); the request may or may not have run` },
      });
    }
    for (const [id, generation] of this.serverRequests) if (generation === upstream.generation) this.serverRequests.delete(id);
  }
}

/** Stderr JSON lines: stdout carries the protocol. */
export function stderrLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return createLogger(level, pino.destination({ fd: 2, sync: true }));
}

/** Starts the bridge on stdin/stdout; the handle's `closed` resolves when stdin ends. */
export async function runStdioBridge(opts: StdioBridgeOptions): Promise<StdioBridge> {
  const relay = new Relay(opts, opts.log ?? stderrLogger());
  await relay.start();
  return relay;
}
