// framedResult decides when a backend's answer may pass on unparsed: only a result response
// to the id the gateway sent, framed exactly as the TypeScript or Python SDK writes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framedResult, RawResult, resultValue } from '../../src/upstream/rpc.js';

describe('framedResult', () => {
  // Brackets, quotes, backslashes and the framing itself inside strings do not confuse it.
  const result = { content: [{ type: 'text', text: '노트북 "x" } ,"jsonrpc":"2.0","id":"gw-1"} \\ ]] {{ \\"' }], structuredContent: { a: [1, { b: '}' }] } };

  it('finds the result in the TypeScript SDK framing', () => {
    const text = JSON.stringify({ result, jsonrpc: '2.0', id: 'gw-1' });
    const raw = framedResult(text, 'gw-1');
    assert.equal(raw, JSON.stringify(result));
    assert.deepEqual(JSON.parse(raw ?? ""), result);
  });

  it('finds the result in the Python SDK framing', () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 'gw-1', result });
    assert.deepEqual(JSON.parse(framedResult(text, 'gw-1')!), result);
  });

  it('leaves anything else to the parser', () => {
    const cases = [
      JSON.stringify({ result, jsonrpc: '2.0', id: 'gw-2' }), // another request's answer
      JSON.stringify({ jsonrpc: '2.0', id: 'gw-1', error: { code: -32602, message: 'bad' } }),
      JSON.stringify({ result, jsonrpc: '2.0', id: 'gw-1' }, null, 1), // spaces: not the framing
      JSON.stringify({ id: 'gw-1', jsonrpc: '2.0', result }), // another member order
      '{"result":,"jsonrpc":"2.0","id":"gw-1"}', // no result at all
      '',
      // Members of the backend's riding along after the result: never into the client's answer.
      '{"result":{"content":[]},"id":"spoof","jsonrpc":"2.0","id":"gw-1"}',
      '{"jsonrpc":"2.0","id":"gw-1","result":{"content":[]},"id":"spoof"}',
      '{"result":{},"error":{"code":-1,"message":"x"},"jsonrpc":"2.0","id":"gw-1"}',
      // A result that is not an object (an MCP result always is): the parsing path says so.
      ...['null', 'false', '0', '""', '[]', '"}"'].map((r) => `{"result":${r},"jsonrpc":"2.0","id":"gw-1"}`),
    ];
    for (const text of cases) assert.equal(framedResult(text, 'gw-1'), undefined, text);
  });
});

describe('RawResult', () => {
  it('parses once, on demand, and says when the text is not JSON', () => {
    const raw = new RawResult('{"isError":true,"content":[]}');
    assert.equal(resultValue(raw).isError, true);
    assert.equal(raw.value(), raw.value());
    assert.throws(() => new RawResult('{"content":[oops]}').value(), SyntaxError);
    const plain = { content: [] };
    assert.equal(resultValue(plain), plain);
  });
});
