// The lean call path to a backend: one JSON-RPC request as one POST on a pooled
// keep-alive connection, reusing the session that the SDK client negotiated. The answer
// may be JSON or an SSE stream (SDK servers default to SSE); a stream is read as it comes,
// so progress, log messages and the backend's own requests (sampling, elicitation, roots)
// reach their handlers while the call runs, and the call resolves on its response. A stream
// the backend closes before answering is resumed with GET + Last-Event-ID (SEP-1699).
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent } from 'undici';
import type { JSONRPCMessage, JSONRPCNotification, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { toAbortSignal, type CancelSource } from './cancel.js';
import { exchange, headerValue, type Exchange } from './exchange.js';

export interface RawSession {
  url: URL;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  headers: Readonly<Record<string, string>>;
}

export interface RawResponse {
  status: number;
  /** The JSON-RPC response that answers the request (undefined too when `result` has it). */
  response: JSONRPCMessage | undefined;
  /** With `onPassthrough`: the result of a JSON answer, as the backend wrote it. */
  result?: RawResult | undefined;
}

/**
 * A result passed on as the backend wrote it: its JSON text, parsed only when something
 * looks inside. The lean call path answers the client with this text spliced into its own
 * response, so a plain answer is neither parsed nor re-encoded before it goes out.
 */
export class RawResult {
  private parsed: Record<string, unknown> | undefined;
  constructor(readonly json: string) {}
  /** The parsed result; throws a SyntaxError when the backend's text is not JSON. */
  value(): Record<string, unknown> {
    return (this.parsed ??= JSON.parse(this.json) as Record<string, unknown>);
  }
}

/** A result as an object, whichever way it came. */
export function resultValue(result: Record<string, unknown> | RawResult): Record<string, unknown> {
  return result instanceof RawResult ? result.value() : result;
}

/**
 * The result's own text when `text` is a result response to `id` framed the way the SDKs
 * write it: TypeScript `{"result":R,"jsonrpc":"2.0","id":ID}`, Python
 * `{"jsonrpc":"2.0","id":ID,"result":R}` (no spaces), R one JSON object and nothing else (so
 * no member of the backend's can ride along into the client's answer, a second "id" say).
 * Anything else says undefined and the body is parsed as usual.
 */
export function framedResult(text: string, id: string): string | undefined {
  const idJson = JSON.stringify(id);
  const tail = `,"jsonrpc":"2.0","id":${idJson}}`;
  let result: string | undefined;
  if (text.startsWith('{"result":') && text.endsWith(tail)) result = text.slice(10, -tail.length);
  else {
    const head = `{"jsonrpc":"2.0","id":${idJson},"result":`;
    if (text.startsWith(head) && text.endsWith('}')) result = text.slice(head.length, -1);
  }
  return result !== undefined && isOneObject(result) ? result : undefined;
}

/**
 * Whether `text`, taken as JSON, is a single object: it opens with `{` and its brackets,
 * counted outside strings, first close again at its last character. One pass over the text,
 * cheaper than parsing it; whether the JSON is valid is checked later, by parsing.
 */
function isOneObject(text: string): boolean {
  if (text.charCodeAt(0) !== 0x7b) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      return i === text.length - 1;
    }
  }
  return false;
}

/** What a backend's request to the client is answered with. */
export type RequestAnswer = { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

export interface StreamHandlers {
  onNotification?: (notification: JSONRPCNotification) => void;
  /** A request from the backend (sampling, elicitation, roots); default: method not found. */
  onRequest?: (request: JSONRPCRequest) => Promise<RequestAnswer>;
}

/** One dispatcher for all upstream HTTP: keep-alive, pipelining off, generous pool. */
export const upstreamAgent = new Agent({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1 });

const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** `fixed` over the session's own headers (credentials) over `extra` (trace context), plus its id and version. */
function sessionHeaders(session: RawSession, fixed: Record<string, string>, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...session.headers, ...fixed };
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
  return headers;
}

const postHeadersOf = new WeakMap<RawSession, Record<string, string>>();

/** A POST's headers: the same object for every call of a session unless trace context is added. */
function postHeaders(session: RawSession, extra: Record<string, string> | undefined): Record<string, string> {
  if (extra) return sessionHeaders(session, POST_HEADERS, extra);
  let headers = postHeadersOf.get(session);
  if (!headers) postHeadersOf.set(session, (headers = sessionHeaders(session, POST_HEADERS)));
  return headers;
}

/** Sends a notification or a response to the backend (answered 202, nothing to read). */
export function postMessage(session: RawSession, message: JSONRPCMessage, signal?: CancelSource): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    exchange(upstreamAgent, session.url, { method: 'POST', headers: sessionHeaders(session, POST_HEADERS), body: JSON.stringify(message), signal }, (status) => ({ data: () => undefined, end: () => resolve(status) }), reject);
  });
}

export interface PostOptions {
  signal?: CancelSource | undefined;
  /** Called when the signal aborts the call (e.g. to tell the backend). */
  onAbort?: (() => void) | undefined;
  /** Until the answer's headers, then between stream chunks. */
  timeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
  handlers?: StreamHandlers | undefined;
  /**
   * Given, a JSON answer's result framed as expected stays unparsed (RawResponse.result), and
   * this hears it the moment its last byte is in, before the returned promise settles (which
   * takes a few promise hops and undici's own bookkeeping): the lean call path answers its
   * client from here.
   */
  onPassthrough?: ((result: RawResult) => void) | undefined;
}

interface StreamCursor {
  lastEventId: string | undefined;
  retryMs: number | undefined;
}

/**
 * What one exchange brought: a plain body (a JSON-RPC message, or the error a non-2xx body
 * carries), or an SSE stream's answer (undefined: the stream ended without one).
 */
type Outcome = RawResponse & { stream: boolean };

/**
 * One exchange whose answer to request `id` may be JSON or an SSE stream; resolves as soon as
 * the answer is in. With `onPassthrough`, a JSON result framed as expected stays text. A stream
 * that ends unanswered resolves with `unanswered(...)` when given (the resumption below).
 */
function ask(
  session: RawSession,
  init: Exchange,
  id: unknown,
  handlers: StreamHandlers | undefined,
  cursor: StreamCursor,
  unanswered?: (status: number) => Promise<Outcome>,
  onPassthrough?: (result: RawResult) => void,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    exchange(upstreamAgent, session.url, init, (status, headers) => {
      if (status < 300 && headerValue(headers, 'content-type').startsWith('text/event-stream')) {
        let answered = false;
        const events = sseEvents(id, session, handlers, cursor, (response) => {
          answered = true;
          resolve({ status, stream: true, response });
        });
        return {
          data: (chunk) => events.feed(chunk),
          end: () => {
            events.end();
            if (!answered) resolve(unanswered && cursor.lastEventId !== undefined ? unanswered(status) : { status, stream: true, response: undefined });
          },
        };
      }
      const chunks: Buffer[] = [];
      return {
        data: (chunk) => chunks.push(chunk),
        // Parsed here, as the body ends: the caller resumes once, with the message.
        end: () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          const raw = onPassthrough && status < 300 && typeof id === 'string' ? framedResult(text, id) : undefined;
          if (raw !== undefined && onPassthrough) {
            const result = new RawResult(raw);
            resolve({ status, stream: false, response: undefined, result });
            try {
              onPassthrough(result);
            } catch {
              // The caller's business: the promise already carries the result to it.
            }
            return;
          }
          try {
            resolve({ status, stream: false, response: status >= 300 ? parseErrorBody(text) : text ? (JSON.parse(text) as JSONRPCMessage) : undefined });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      };
    }, reject);
  });
}

/**
 * Sends one request and resolves with its answer. Not an async function on purpose: a plain
 * answer settles the returned promise straight from the socket callback, one hop fewer on
 * every call's way back.
 */
export function postJsonRpc(session: RawSession, message: JSONRPCMessage, options: PostOptions = {}): Promise<RawResponse> {
  const { signal, onAbort, timeoutMs, handlers } = options;
  const id = (message as { id?: unknown }).id;
  const cursor: StreamCursor = { lastEventId: undefined, retryMs: undefined };
  const init: Exchange = { method: 'POST', headers: postHeaders(session, options.headers), body: JSON.stringify(message), signal, onAbort, timeoutMs };
  return ask(session, init, id, handlers, cursor, (status) => resume(session, id, status, handlers, cursor, options), options.onPassthrough);
}

/**
 * SEP-1699: a backend may close the POST stream mid-call after a priming event; the answer
 * then comes on a GET stream resumed with Last-Event-ID (after the retry delay it suggested).
 */
async function resume(session: RawSession, id: unknown, status: number, handlers: StreamHandlers | undefined, cursor: StreamCursor, options: PostOptions): Promise<Outcome> {
  const { signal, onAbort, timeoutMs } = options;
  let response: JSONRPCMessage | undefined;
  let fruitless = 0;
  while (response === undefined && cursor.lastEventId !== undefined && fruitless < 3 && !signal?.aborted) {
    try {
      await sleep(Math.min(cursor.retryMs ?? 1000, 10_000), undefined, signal ? { signal: toAbortSignal(signal) } : {});
    } catch {
      // Aborted between streams: no exchange is listening, so tell the caller here.
      onAbort?.();
      break;
    }
    const before = cursor.lastEventId;
    const resumed = await ask(session, { method: 'GET', headers: sessionHeaders(session, { accept: 'text/event-stream', 'last-event-id': before }), signal, onAbort, timeoutMs }, id, handlers, cursor);
    if (!resumed.stream || resumed.status !== 200) break;
    response = resumed.response;
    fruitless = cursor.lastEventId === before ? fruitless + 1 : 0;
  }
  return { status, stream: true, response };
}

/**
 * Parses an SSE stream's events: the response to `id` goes to `onResponse`, the backend's
 * requests are answered through the handlers, its notifications passed on; ids and retry
 * hints are kept in `cursor` for resuming.
 */
function sseEvents(id: unknown, session: RawSession, handlers: StreamHandlers | undefined, cursor: StreamCursor, onResponse: (response: JSONRPCMessage) => void): { feed(chunk: Buffer): void; end(): void } {
  const parser = createParser({
    onRetry(ms: number) {
      cursor.retryMs = ms;
    },
    onEvent(event: EventSourceMessage) {
      if (event.id) cursor.lastEventId = event.id;
      if ((event.event && event.event !== 'message') || !event.data) return;
      let parsed: JSONRPCMessage;
      try {
        parsed = JSON.parse(event.data) as JSONRPCMessage;
      } catch {
        return;
      }
      if (('result' in parsed || 'error' in parsed) && (parsed as { id?: unknown }).id === id) {
        onResponse(parsed);
      } else if ('method' in parsed && 'id' in parsed) {
        void answer(session, parsed, handlers);
      } else if ('method' in parsed) {
        handlers?.onNotification?.(parsed);
      }
    },
  });
  const decoder = new TextDecoder();
  return {
    feed: (chunk) => parser.feed(decoder.decode(chunk, { stream: true })),
    end: () => parser.feed('\n\n'),
  };
}

/** Answers a backend's request with what the handler (the client, through us) said. */
async function answer(session: RawSession, request: JSONRPCRequest, handlers: StreamHandlers | undefined): Promise<void> {
  let reply: RequestAnswer;
  try {
    reply = handlers?.onRequest
      ? await handlers.onRequest(request)
      : { error: { code: -32601, message: `Method not found: the gateway cannot relay ${request.method} here` } };
  } catch (error) {
    reply = { error: { code: -32603, message: (error as Error).message } };
  }
  await postMessage(session, { jsonrpc: '2.0', id: request.id, ...reply }).catch(() => undefined);
}

function parseErrorBody(text: string): JSONRPCMessage | undefined {
  try {
    const parsed = JSON.parse(text) as JSONRPCMessage;
    return parsed && typeof parsed === 'object' && 'error' in parsed ? parsed : undefined;
  } catch {
    return undefined;
  }
}
