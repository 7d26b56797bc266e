// The lean call path to a backend: one JSON-RPC request as one POST on a pooled
// keep-alive connection, reusing the session that the SDK client negotiated. The answer
// may be JSON or an SSE stream (SDK servers default to SSE); a stream is read as it comes,
// so progress, log messages and the backend's own requests (sampling, elicitation, roots)
// reach their handlers while the call runs, and the call resolves on its response. A stream
// the backend closes before answering is resumed with GET + Last-Event-ID (SEP-1699).
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent, request, type Dispatcher } from 'undici';
import type { JSONRPCMessage, JSONRPCNotification, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';

export interface RawSession {
  url: URL;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  headers: Readonly<Record<string, string>>;
}

export interface RawResponse {
  status: number;
  /** The JSON-RPC response that answers the request. */
  response: JSONRPCMessage | undefined;
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

function headersFor(session: RawSession, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {
    ...extra,
    ...session.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
  return headers;
}

/** Sends a notification or a response to the backend (answered 202, nothing to read). */
export async function postMessage(session: RawSession, message: JSONRPCMessage, signal?: AbortSignal): Promise<number> {
  const res = await request(session.url, {
    method: 'POST',
    headers: headersFor(session),
    body: JSON.stringify(message),
    dispatcher: upstreamAgent,
    ...(signal ? { signal } : {}),
  });
  await res.body.dump();
  return res.statusCode;
}

export interface PostOptions {
  signal?: AbortSignal | undefined;
  /** Until the answer's headers, then between stream chunks. */
  timeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
  handlers?: StreamHandlers | undefined;
}

export async function postJsonRpc(session: RawSession, message: JSONRPCMessage, options: PostOptions = {}): Promise<RawResponse> {
  const { signal, timeoutMs, handlers } = options;
  const res = await request(session.url, {
    method: 'POST',
    headers: headersFor(session, options.headers),
    body: JSON.stringify(message),
    dispatcher: upstreamAgent,
    ...(signal ? { signal } : {}),
    ...(timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {}),
  });
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode >= 300 || !type.startsWith('text/event-stream')) {
    const text = await res.body.text();
    if (res.statusCode >= 300) return { status: res.statusCode, response: parseErrorBody(text) };
    return { status: res.statusCode, response: text ? (JSON.parse(text) as JSONRPCMessage) : undefined };
  }
  const id = (message as { id?: unknown }).id;
  const cursor: StreamCursor = { lastEventId: undefined, retryMs: undefined };
  let response = await readStream(res.body, id, session, handlers, cursor);
  // SEP-1699: a backend may close the POST stream mid-call after a priming event; the answer
  // then comes on a GET stream resumed with Last-Event-ID (after the `retry` it suggested).
  let fruitless = 0;
  while (response === undefined && cursor.lastEventId !== undefined && fruitless < 3 && !signal?.aborted) {
    try {
      await sleep(Math.min(cursor.retryMs ?? 1000, 10_000), undefined, signal ? { signal } : {});
    } catch {
      break;
    }
    const before = cursor.lastEventId;
    const resumed = await request(session.url, {
      method: 'GET',
      headers: { ...resumeHeaders(session), 'last-event-id': before },
      dispatcher: upstreamAgent,
      ...(signal ? { signal } : {}),
      ...(timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {}),
    });
    if (resumed.statusCode !== 200 || !String(resumed.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      await resumed.body.dump();
      break;
    }
    response = await readStream(resumed.body, id, session, handlers, cursor);
    fruitless = cursor.lastEventId === before ? fruitless + 1 : 0;
  }
  return { status: res.statusCode, response };
}

interface StreamCursor {
  lastEventId: string | undefined;
  retryMs: number | undefined;
}

function resumeHeaders(session: RawSession): Record<string, string> {
  const headers: Record<string, string> = { ...session.headers, accept: 'text/event-stream' };
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
  return headers;
}

/** Reads one SSE stream until the response to `id` (resolved at once) or the stream's end (undefined). */
function readStream(body: Dispatcher.ResponseData['body'], id: unknown, session: RawSession, handlers: StreamHandlers | undefined, cursor: StreamCursor): Promise<JSONRPCMessage | undefined> {
  return new Promise<JSONRPCMessage | undefined>((resolve, reject) => {
    let settled = false;
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
          if (!settled) {
            settled = true;
            resolve(parsed);
          }
        } else if ('method' in parsed && 'id' in parsed) {
          void answer(session, parsed, handlers);
        } else if ('method' in parsed) {
          handlers?.onNotification?.(parsed);
        }
      },
    });
    const decoder = new TextDecoder();
    body.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })));
    body.on('end', () => {
      parser.feed('\n\n');
      if (!settled) {
        settled = true;
        resolve(undefined);
      }
    });
    body.on('error', (error: Error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
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
