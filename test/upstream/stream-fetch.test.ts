// The fetch of the upstream SDK transports: GET streams lose their keep-alive comments between
// events and nothing else; bodies of any size come through whole; an abort ends a stream.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { keepAliveFilter, streamFetch } from '../../src/upstream/stream-fetch.js';

function through(chunks: string[]): string {
  const keep = keepAliveFilter();
  return chunks.filter((c) => keep(Buffer.from(c))).join('');
}

describe('keepAliveFilter', () => {
  it('drops whole keep-alive comments between events', () => {
    assert.equal(through([': keepalive\n\n', 'id: 1\ndata: {"a":1}\n\n', ': keepalive\n\n']), 'id: 1\ndata: {"a":1}\n\n');
    assert.equal(through([': ping\r\n\r\n', 'data: x\r\n\r\n', ': ping\r\n\r\n']), 'data: x\r\n\r\n');
  });

  it('keeps comments inside an event that arrives in pieces, and everything else', () => {
    const chunks = ['id: 2\n', ': note\n', 'data: {"b":2}\n\n', 'event: message\ndata: x\n\n', ': c\ndata: y\n\n', ': only a comment, not yet ended\n', '\n'];
    assert.equal(through(chunks), chunks.join(''));
  });
});

describe('streamFetch', () => {
  const big = `data: ${'x'.repeat(200_000)}\n\n`;
  let server: http.Server;
  let base: string;

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"ok":true}');
      }
      if (req.url === '/accepted') {
        res.writeHead(202);
        return res.end();
      }
      if (req.url === '/burst') {
        // One write that the socket delivers in pieces, the end of the body right behind it.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.end(big);
      }
      if (req.url === '/silent') {
        // Headers, then nothing: only an abort ends it.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.write(': hello\n\n');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Each write a chunk of its own, so keep-alives arrive alone as they do in life.
      const parts = [': keepalive\n\n', 'id: 1\ndata: {"a":1}\n\n', ': keepalive\n\n', big, ': keepalive\n\n'];
      const next = (): void => {
        const part = parts.shift();
        if (part === undefined) return void res.end();
        res.write(part, () => setTimeout(next, 5));
      };
      next();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('passes a GET stream whole, large events included, without its keep-alives', async () => {
    const res = await streamFetch(`${base}/stream`, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `id: 1\ndata: {"a":1}\n\n${big}`);
  });

  it('passes a POST stream unfiltered, and plain answers as they are', async () => {
    const res = await streamFetch(`${base}/stream`, { method: 'POST', body: '{}' });
    assert.equal((await res.text()).length, 3 * ': keepalive\n\n'.length + 'id: 1\ndata: {"a":1}\n\n'.length + big.length);
    const burst = await streamFetch(`${base}/burst`, { method: 'POST', body: '{}' });
    assert.equal(await burst.text(), big);
    const json = await streamFetch(`${base}/json`, { method: 'POST', body: '{}' });
    assert.deepEqual(await json.json(), { ok: true });
    const accepted = await streamFetch(`${base}/accepted`, { method: 'POST', body: '{}' });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.body, null);
  });

  it('ends a stream when its signal aborts', async () => {
    const controller = new AbortController();
    const res = await streamFetch(`${base}/silent`, { method: 'GET', signal: controller.signal });
    const reading = res.text();
    controller.abort();
    await assert.rejects(reading);
  });
});
