// The upstream GET-stream reader drops keep-alive comments between events and nothing else.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { dropKeepAlives } from '../../src/upstream/stream-fetch.js';

async function through(chunks: string[]): Promise<string> {
  let out = '';
  const stream = Readable.from(chunks.map((c) => Buffer.from(c))).pipe(dropKeepAlives());
  for await (const chunk of stream) out += (chunk as Buffer).toString('utf8');
  return out;
}

describe('dropKeepAlives', () => {
  it('drops whole keep-alive comments between events', async () => {
    assert.equal(await through([': keepalive\n\n', 'id: 1\ndata: {"a":1}\n\n', ': keepalive\n\n']), 'id: 1\ndata: {"a":1}\n\n');
  });

  it('keeps comments inside an event that arrives in pieces, and everything else', async () => {
    const chunks = ['id: 2\n', ': note\n', 'data: {"b":2}\n\n', 'event: message\ndata: x\n\n', ': c\ndata: y\n\n'];
    assert.equal(await through(chunks), chunks.join(''));
  });
});
