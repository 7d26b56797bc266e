// The fetch that upstream SDK transports use: undici's dispatch API on one keep-alive pool
// instead of the global fetch (a thousand sessions set up at once make much less garbage and
// share sockets). Streams have no body timeout (a backend's GET stream may be silent for
// hours; fetch gives up after 300 s), and on GET streams SSE keep-alive comments are dropped
// as they come off the socket, before any stream object sees them: with a thousand backends
// pinging every 15 s, passing each ping through Node and web streams was most of the idle CPU.
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Agent } from 'undici';
import { exchange } from './exchange.js';

const streamAgent = new Agent({ bodyTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 });

/** True when every line of `text` is an SSE comment or blank. */
function onlyComments(text: string): boolean {
  for (const line of text.split('\n')) if (line !== '' && line !== '\r' && !line.startsWith(':')) return false;
  return true;
}

/**
 * A filter over an SSE stream's chunks: false for a chunk that is whole keep-alive comments
 * sent between events (dropped), true for everything else (passed on unchanged).
 */
export function keepAliveFilter(): (chunk: Uint8Array) => boolean {
  let atBoundary = true;
  return (chunk) => {
    // A keep-alive starts with ':' (0x3a); anything else is read no further than its end.
    if (atBoundary && chunk[0] === 0x3a) {
      const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
      if ((text.endsWith('\n\n') || text.endsWith('\r\n\r\n')) && onlyComments(text)) return false;
    }
    const n = chunk.length;
    atBoundary = (n >= 2 && chunk[n - 1] === 0x0a && chunk[n - 2] === 0x0a) || (n >= 4 && chunk[n - 1] === 0x0a && chunk[n - 2] === 0x0d && chunk[n - 3] === 0x0a && chunk[n - 4] === 0x0d);
    return true;
  };
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

function plainHeaders(init: RequestInit | undefined): Record<string, string> {
  return Object.fromEntries(new Headers(init?.headers).entries());
}

const NO_BODY = new Set([202, 204, 304]);

export const streamFetch: FetchLike = (input, init) => {
  const method = (init?.method ?? 'GET').toUpperCase();
  const body = init?.body;
  if (body !== undefined && body !== null && typeof body !== 'string') return fetch(input, init);
  return new Promise<Response>((resolve, reject) => {
    // Set once the answer is an SSE stream (the Response is out); else the body is buffered.
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    let streamDone = false;
    exchange(streamAgent, new URL(input), { method, headers: plainHeaders(init), body, signal: init?.signal ?? undefined }, (status, raw, request) => {
      const headers = toHeaders(raw);
      if (NO_BODY.has(status) || !(headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        const chunks: Buffer[] = [];
        return {
          data: (chunk) => chunks.push(chunk),
          end: () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve(new Response(NO_BODY.has(status) || text === '' ? null : text, { status, headers }));
          },
        };
      }
      const keep = method === 'GET' ? keepAliveFilter() : () => true;
      resolve(new Response(new ReadableStream<Uint8Array>({
        start: (c) => { stream = c; },
        // The reader wants more: let the socket flow again.
        pull: () => { if (request.paused) request.resume(); },
        cancel: (reason) => { streamDone = true; request.abort(reason instanceof Error ? reason : new DOMException('The stream was cancelled', 'AbortError')); },
      }), { status, headers }));
      return {
        data: (chunk) => {
          // Resuming a paused body, undici may hand over an empty chunk: queueing it would pause
          // the socket again for nothing, and again on every resume, forever.
          if (streamDone || chunk.length === 0 || !keep(chunk)) return;
          stream!.enqueue(chunk);
          // Nobody is reading: stop reading the socket until they do (TCP pushes back on the backend).
          if ((stream!.desiredSize ?? 1) <= 0) request.pause();
        },
        end: () => {
          if (!streamDone) stream!.close();
          streamDone = true;
        },
      };
    }, (error) => {
      if (!stream) return reject(error);
      if (!streamDone) stream.error(error);
      streamDone = true;
    });
  });
};
