// The lean call path to a backend: one JSON-RPC request as one POST on a pooled
// keep-alive connection, reusing the session that the SDK client negotiated. The answer
// may be JSON or an SSE stream (SDK servers default to SSE); both end in one response.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent, request } from 'undici';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

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
  /** Notifications and requests the backend sent on the same stream before answering. */
  others: JSONRPCMessage[];
}

/** One dispatcher for all upstream HTTP: keep-alive, pipelining off, generous pool. */
export const upstreamAgent = new Agent({ keepAliveTimeout: 30_000, connections: 256, pipelining: 1 });

export async function postJsonRpc(session: RawSession, message: JSONRPCMessage, signal: AbortSignal, extra?: Record<string, string>): Promise<RawResponse> {
  const headers: Record<string, string> = {
    ...extra,
    ...session.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
  const res = await request(session.url, {
    method: 'POST',
    headers,
    body: JSON.stringify(message),
    signal,
    dispatcher: upstreamAgent,
  });
  const type = String(res.headers['content-type'] ?? '');
  const text = await res.body.text();
  if (res.statusCode >= 300) return { status: res.statusCode, response: parseErrorBody(text), others: [] };
  if (type.startsWith('text/event-stream')) return { status: res.statusCode, ...fromSse(text, (message as { id?: unknown }).id) };
  if (!text) return { status: res.statusCode, response: undefined, others: [] };
  return { status: res.statusCode, response: JSON.parse(text) as JSONRPCMessage, others: [] };
}

function parseErrorBody(text: string): JSONRPCMessage | undefined {
  try {
    const parsed = JSON.parse(text) as JSONRPCMessage;
    return parsed && typeof parsed === 'object' && 'error' in parsed ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function fromSse(text: string, id: unknown): { response: JSONRPCMessage | undefined; others: JSONRPCMessage[] } {
  let response: JSONRPCMessage | undefined;
  const others: JSONRPCMessage[] = [];
  const parser = createParser({
    onEvent(event: EventSourceMessage) {
      if (event.event && event.event !== 'message') return;
      if (!event.data) return;
      const message = JSON.parse(event.data) as JSONRPCMessage;
      const isAnswer = ('result' in message || 'error' in message) && (message as { id?: unknown }).id === id;
      if (isAnswer) response = message;
      else others.push(message);
    },
  });
  parser.feed(text);
  parser.feed('\n\n');
  return { response, others };
}
