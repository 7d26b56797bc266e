// The backend the official MCP conformance suite (@modelcontextprotocol/conformance) expects
// of a server: its `test_*` tools, resources and prompts, completion, logging, progress,
// sampling and elicitation raised while serving a call, resource subscriptions, SSE
// resumability (SEP-1699: priming events, an event store, a tool that closes its stream
// mid-call) and DNS-rebinding protection. Streamable HTTP with sessions, one McpServer per
// session. The suite runs against it directly and through the gateway (scripts/conformance.sh).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type JSONRPCMessage,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';

/** A 1x1 PNG and a minimal WAV, base64. */
export const TEST_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
export const TEST_WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

export interface ConformanceServerOptions {
  port?: number;
  host?: string;
  /** SSE `retry` suggested to clients in priming events, ms. */
  retryMs?: number;
  /** How often a subscribed `test://watched-resource` reports an update, ms (0: never). */
  watchIntervalMs?: number;
  log?: (line: string) => void;
}

export interface ConformanceServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:3001/mcp. */
  url: string;
  port: number;
  /** Open sessions. */
  readonly sessions: number;
  close(): Promise<void>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;
type Args = Record<string, unknown>;

interface ToolDef {
  tool: Tool;
  run(args: Args, extra: Extra, session: SessionState): Promise<CallToolResult>;
}

interface SessionState {
  id: string | undefined;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  logLevel: LoggingLevel | undefined;
  subscriptions: Set<string>;
  watchTimer: NodeJS.Timeout | undefined;
}

const LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const MAX_BODY = 4 * 1024 * 1024;
const STATIC_URIS = ['test://static-text', 'test://static-binary', 'test://watched-resource'];
const TEMPLATE = 'test://template/{id}/data';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const failure = (value: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: value }] });
const NO_ARGS: Tool['inputSchema'] = { type: 'object', properties: {} };

/**
 * Events kept per session for SEP-1699 resumption: a client whose stream was closed reconnects
 * with GET + Last-Event-ID and receives what was sent on that stream after that event.
 */
export class MemoryEventStore implements EventStore {
  private seq = 0;
  private readonly events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();

  constructor(private readonly limit = 2000) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${streamId}_${String(++this.seq).padStart(12, '0')}`;
    this.events.set(id, { streamId, message });
    if (this.events.size > this.limit) this.events.delete(this.events.keys().next().value!);
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error(`unknown event id ${lastEventId}`);
    let after = false;
    for (const [id, event] of [...this.events]) {
      if (id === lastEventId) {
        after = true;
        continue;
      }
      // Priming events carry no message ({}): nothing to replay.
      if (after && event.streamId === last.streamId && 'jsonrpc' in event.message) await send(id, event.message);
    }
    return last.streamId;
  }
}

function requireString(args: Args, name: string): string | CallToolResult {
  const value = args[name];
  return typeof value === 'string' ? value : failure(`Invalid arguments: "${name}" (string) is required`);
}

/** Backend-to-client requests go on the call's own stream (relatedRequestId), as the spec prefers. */
async function elicit(extra: Extra, params: Record<string, unknown>): Promise<z.infer<typeof ElicitResultSchema>> {
  return extra.sendRequest({ method: 'elicitation/create', params } as ServerRequest, ElicitResultSchema);
}

function tools(): ToolDef[] {
  return [
    {
      tool: { name: 'test_simple_text', description: 'Returns one text content item', inputSchema: NO_ARGS },
      run: async () => text('This is a simple text response for testing.'),
    },
    {
      tool: { name: 'test_image_content', description: 'Returns one image content item (a 1x1 PNG)', inputSchema: NO_ARGS },
      run: async () => ({ content: [{ type: 'image', data: TEST_PNG, mimeType: 'image/png' }] }),
    },
    {
      tool: { name: 'test_audio_content', description: 'Returns one audio content item (a minimal WAV)', inputSchema: NO_ARGS },
      run: async () => ({ content: [{ type: 'audio', data: TEST_WAV, mimeType: 'audio/wav' }] }),
    },
    {
      tool: { name: 'test_embedded_resource', description: 'Returns an embedded text resource', inputSchema: NO_ARGS },
      run: async () => ({
        content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
      }),
    },
    {
      tool: { name: 'test_multiple_content_types', description: 'Returns text, image and embedded resource content together', inputSchema: NO_ARGS },
      run: async () => ({
        content: [
          { type: 'text', text: 'Multiple content types test:' },
          { type: 'image', data: TEST_PNG, mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
        ],
      }),
    },
    {
      tool: { name: 'test_tool_with_logging', description: 'Sends three info log messages while it runs', inputSchema: NO_ARGS },
      run: async (_args, extra, session) => {
        const steps = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
        for (const [i, step] of steps.entries()) {
          if (i > 0) await sleep(50);
          await log(session, extra, 'info', step);
        }
        return text('Tool with logging executed successfully');
      },
    },
    {
      tool: { name: 'test_tool_with_progress', description: 'Reports progress 0, 50 and 100 of 100 when given a progress token', inputSchema: NO_ARGS },
      run: async (_args, extra) => {
        const token = extra._meta?.progressToken;
        for (const [i, progress] of [0, 50, 100].entries()) {
          if (i > 0) await sleep(50);
          if (token !== undefined) {
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100, message: `Completed step ${progress} of 100` } });
          }
        }
        return text(`Progress reported for token ${String(token ?? 'none')}`);
      },
    },
    {
      tool: { name: 'test_error_handling', description: 'Always fails: a tool execution error (isError)', inputSchema: NO_ARGS },
      run: async () => failure('This tool intentionally returns an error for testing'),
    },
    {
      tool: {
        name: 'test_reconnection',
        description: 'Closes its SSE stream mid-call (SEP-1699); the result arrives once the client resumes with Last-Event-ID',
        inputSchema: NO_ARGS,
      },
      run: async (_args, extra) => {
        // Only offered to clients that can resume (protocol 2025-11-25 and an event store).
        extra.closeSSEStream?.();
        await sleep(100);
        return text('Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.');
      },
    },
    {
      tool: {
        name: 'test_sampling',
        description: 'Asks the client for an LLM completion (sampling/createMessage)',
        inputSchema: { type: 'object', properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } }, required: ['prompt'] },
      },
      run: async (args, extra) => {
        const prompt = requireString(args, 'prompt');
        if (typeof prompt !== 'string') return prompt;
        try {
          const result = await extra.sendRequest({
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          }, CreateMessageResultSchema);
          const content = result.content as { type: string; text?: string };
          return text(`LLM response: ${content.type === 'text' ? content.text ?? '' : `[${content.type}]`}`);
        } catch (error) {
          return failure(`Sampling failed: ${(error as Error).message}`);
        }
      },
    },
    {
      tool: {
        name: 'test_elicitation',
        description: 'Asks the user for input (elicitation/create, form mode)',
        inputSchema: { type: 'object', properties: { message: { type: 'string', description: 'The message to show the user' } }, required: ['message'] },
      },
      run: async (args, extra) => {
        const message = requireString(args, 'message');
        if (typeof message !== 'string') return message;
        try {
          const result = await elicit(extra, {
            mode: 'form',
            message,
            requestedSchema: {
              type: 'object',
              properties: {
                username: { type: 'string', description: "User's response" },
                email: { type: 'string', description: "User's email address" },
              },
              required: ['username', 'email'],
            },
          });
          return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
        } catch (error) {
          return failure(`Elicitation failed: ${(error as Error).message}`);
        }
      },
    },
    {
      tool: { name: 'test_elicitation_sep1034_defaults', description: 'Elicitation whose fields carry default values (SEP-1034)', inputSchema: NO_ARGS },
      run: async (_args, extra) => {
        try {
          const result = await elicit(extra, {
            mode: 'form',
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
              required: [],
            },
          });
          return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
        } catch (error) {
          return failure(`Elicitation failed: ${(error as Error).message}`);
        }
      },
    },
    {
      tool: { name: 'test_elicitation_sep1330_enums', description: 'Elicitation with the five enum schema forms (SEP-1330)', inputSchema: NO_ARGS },
      run: async (_args, extra) => {
        const choices = (prefix: string, titles: string[]): { const: string; title: string }[] => titles.map((title, i) => ({ const: `${prefix}${i + 1}`, title }));
        try {
          const result = await elicit(extra, {
            mode: 'form',
            message: 'Please select options from the enum fields',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
                titledSingle: { type: 'string', description: 'Select one option with titles', oneOf: choices('value', ['First Option', 'Second Option', 'Third Option']) },
                legacyEnum: { type: 'string', description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
                untitledMulti: { type: 'array', description: 'Select multiple options', minItems: 1, maxItems: 3, items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                titledMulti: {
                  type: 'array', description: 'Select multiple options with titles', minItems: 1, maxItems: 3,
                  items: { anyOf: choices('value', ['First Choice', 'Second Choice', 'Third Choice']) },
                },
              },
              required: [],
            },
          });
          return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
        } catch (error) {
          return failure(`Elicitation failed: ${(error as Error).message}`);
        }
      },
    },
    {
      tool: {
        name: 'json_schema_2020_12_tool',
        description: 'Its input schema uses JSON Schema 2020-12 keywords ($schema, $defs, $ref, additionalProperties) (SEP-1613)',
        inputSchema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
          properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
          additionalProperties: false,
        },
      },
      run: async (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
    },
  ];
}

/** A log message on the call's stream, unless the session asked for less. */
async function log(session: SessionState, extra: Extra, level: LoggingLevel, data: string): Promise<void> {
  if (session.logLevel && LEVELS.indexOf(level) < LEVELS.indexOf(session.logLevel)) return;
  await extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'conformance-backend', data } });
}

function buildSession(options: Required<Pick<ConformanceServerOptions, 'retryMs' | 'watchIntervalMs'>>, onSession: (s: SessionState, open: boolean) => void): SessionState {
  const server = new McpServer({ name: 'mcp-gateway-conformance-backend', version: '1.0.0' }, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    },
  });
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new MemoryEventStore(),
    retryInterval: options.retryMs,
    onsessioninitialized: (id) => {
      session.id = id;
      onSession(session, true);
    },
  });
  const session: SessionState = { id: undefined, server, transport, logLevel: undefined, subscriptions: new Set(), watchTimer: undefined };
  transport.onclose = () => {
    clearInterval(session.watchTimer);
    onSession(session, false);
  };

  // Tools: plain JSON Schemas (json_schema_2020_12_tool's must reach clients untouched).
  const defs = tools();
  const byName = new Map(defs.map((d) => [d.tool.name, d]));
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: defs.map((d) => d.tool) }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const def = byName.get(request.params.name);
    if (!def) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const args = request.params.arguments ?? {};
    if (def.tool.inputSchema.additionalProperties === false) {
      const allowed = Object.keys(def.tool.inputSchema.properties ?? {});
      const extraKeys = Object.keys(args).filter((k) => !allowed.includes(k));
      if (extraKeys.length) return failure(`Invalid arguments: unexpected ${extraKeys.join(', ')}`);
    }
    return def.run(args, extra, session);
  });

  // Resources: two static ones, a template, and one that changes while subscribed.
  let watchedVersion = 0;
  server.registerResource('static-text', 'test://static-text', {
    title: 'Static Text Resource', description: 'A static text resource', mimeType: 'text/plain',
  }, () => ({ contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }));
  server.registerResource('static-binary', 'test://static-binary', {
    title: 'Static Binary Resource', description: 'A static binary resource (a PNG image)', mimeType: 'image/png',
  }, () => ({ contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: TEST_PNG }] }));
  server.registerResource('template', new ResourceTemplate(TEMPLATE, {
    list: undefined,
    complete: { id: (value) => ['1', '42', '123', '1000'].filter((id) => id.startsWith(value)) },
  }), {
    title: 'Resource Template', description: 'Data for an id: test://template/{id}/data', mimeType: 'application/json',
  }, (uri, { id }) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }) }],
  }));
  server.registerResource('watched-resource', 'test://watched-resource', {
    title: 'Watched Resource', description: 'Changes every few seconds while someone is subscribed', mimeType: 'text/plain',
  }, () => ({ contents: [{ uri: 'test://watched-resource', mimeType: 'text/plain', text: `Watched resource content (version ${watchedVersion})` }] }));

  const template = new UriTemplate(TEMPLATE);
  const known = (uri: string): boolean => STATIC_URIS.includes(uri) || template.match(uri) !== null;
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    if (!known(uri)) throw new McpError(-32002, `Resource not found: ${uri}`);
    session.subscriptions.add(uri);
    if (uri === 'test://watched-resource' && options.watchIntervalMs > 0 && !session.watchTimer) {
      session.watchTimer = setInterval(() => {
        if (!session.subscriptions.has('test://watched-resource')) return;
        watchedVersion += 1;
        server.server.sendResourceUpdated({ uri: 'test://watched-resource' }).catch(() => undefined);
      }, options.watchIntervalMs);
      session.watchTimer.unref();
    }
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    session.subscriptions.delete(request.params.uri);
    if (session.subscriptions.size === 0) {
      clearInterval(session.watchTimer);
      session.watchTimer = undefined;
    }
    return {};
  });

  // Prompts; test_prompt_with_arguments' arg1 and the template's id complete.
  server.registerPrompt('test_simple_prompt', { title: 'Simple Test Prompt', description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  server.registerPrompt('test_prompt_with_arguments', {
    title: 'Prompt With Arguments',
    description: 'A prompt with two required arguments',
    argsSchema: {
      arg1: completable(z.string().describe('First test argument'), (value) => ['paris', 'park', 'party', 'test', 'testValue1'].filter((v) => v.startsWith(value))),
      arg2: z.string().describe('Second test argument'),
    },
  }, ({ arg1, arg2 }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
  }));
  server.registerPrompt('test_prompt_with_embedded_resource', {
    title: 'Prompt With Embedded Resource',
    description: 'A prompt that embeds a resource',
    argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
  }, ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ],
  }));
  server.registerPrompt('test_prompt_with_image', { title: 'Prompt With Image', description: 'A prompt with image content' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: TEST_PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));

  // Logging: the level filters this session's messages; setting it is itself logged.
  server.server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    session.logLevel = request.params.level;
    await log(session, extra, 'info', `Log level set to: ${request.params.level}`).catch(() => undefined);
    return {};
  });

  return session;
}

/** DNS-rebinding protection: Host (and Origin, when sent) must name loopback. */
function fromLoopback(req: http.IncomingMessage): boolean {
  const hostname = (value: string): string => {
    try {
      return new URL(`http://${value}`).hostname;
    } catch {
      return '';
    }
  };
  if (!LOOPBACK.has(hostname(req.headers.host ?? ''))) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return LOOPBACK.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function reply(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
}

export async function startConformanceServer(options: ConformanceServerOptions = {}): Promise<ConformanceServer> {
  const say = options.log ?? (() => undefined);
  const sessions = new Map<string, SessionState>();
  const settings = { retryMs: options.retryMs ?? 500, watchIntervalMs: options.watchIntervalMs ?? 3000 };
  const onSession = (session: SessionState, open: boolean): void => {
    if (!session.id) return;
    if (open) sessions.set(session.id, session);
    else sessions.delete(session.id);
    say(`session ${session.id} ${open ? 'opened' : 'closed'}`);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') return reply(res, 404, -32000, 'Not found');
    if (!fromLoopback(req)) return reply(res, 403, -32000, 'Forbidden: Host and Origin must name this machine (DNS-rebinding protection)');
    const sessionId = req.headers['mcp-session-id'];
    const known = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;

    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (error) {
        if ((error as { status?: number }).status === 413) return reply(res, 413, -32600, 'Request body too large');
        return reply(res, 400, -32700, 'Parse error');
      }
      if (known) return known.transport.handleRequest(req, res, body);
      if (sessionId !== undefined) return reply(res, 404, -32001, 'Session not found');
      if (!isInitialize(body)) return reply(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      const session = buildSession(settings, onSession);
      await session.server.connect(session.transport);
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (sessionId === undefined) return reply(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      if (!known) return reply(res, 404, -32001, 'Session not found');
      return known.transport.handleRequest(req, res);
    }
    return reply(res, 405, -32000, 'Method not allowed', { allow: 'GET, POST, DELETE' });
  };

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      say(`request failed: ${error.message}`);
      if (!res.headersSent) reply(res, 500, -32603, 'Internal server error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`,
    port,
    get sessions() {
      return sessions.size;
    },
    async close() {
      for (const session of [...sessions.values()]) {
        clearInterval(session.watchTimer);
        await session.server.close().catch(() => undefined);
      }
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
