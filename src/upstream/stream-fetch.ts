// The fetch that upstream SDK transports use: undici's node-stream API on one keep-alive
// pool instead of the global fetch (a thousand sessions set up at once make much less
// garbage and share sockets). Streams have no body timeout (a backend's GET stream may be
// silent for hours; fetch gives up after 300 s), and on GET streams SSE keep-alive comments
// are dropped before they reach the SDK's web-streams pipeline, which costs far more per
// event: with a thousand backends pinging every 15 s that was most of the idle CPU.
import { Readable, Transform } from 'node:stream';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Agent, request } from 'undici';

const streamAgent = new Agent({ bodyTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 });

/** True when every line of `text` is an SSE comment or blank. */
function onlyComments(text: string): boolean {
  for (const line of text.split('\n')) if (line !== '' && line !== '\r' && !line.startsWith(':')) return false;
  return true;
}

/** Drops chunks that are whole keep-alive comments sent between events; passes all else unchanged. */
export function dropKeepAlives(): Transform {
  let atBoundary = true;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      if (atBoundary && text.endsWith('\n\n') && onlyComments(text)) return done();
      atBoundary = text.endsWith('\n\n') || text.endsWith('\r\n\r\n');
      done(null, chunk);
    },
  });
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

export const streamFetch: FetchLike = async (url, init) => {
  const method = (init?.method ?? 'GET').toUpperCase();
  const body = init?.body;
  if (body !== undefined && body !== null && typeof body !== 'string') return fetch(url, init);
  const res = await request(url, {
    method: method as 'GET',
    headers: plainHeaders(init),
    dispatcher: streamAgent,
    ...(typeof body === 'string' ? { body } : {}),
    ...(init?.signal ? { signal: init.signal } : {}),
  });
  const status = res.statusCode;
  const headers = toHeaders(res.headers);
  const isStream = (headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (!isStream || status === 204 || status === 304 || status === 202) {
    const text = await res.body.text();
    return new Response(status === 204 || status === 304 || text === '' ? null : text, { status, headers });
  }
  const stream = method === 'GET' ? res.body.pipe(dropKeepAlives()) : res.body;
  if (stream !== res.body) res.body.on('error', (error) => stream.destroy(error));
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
};
