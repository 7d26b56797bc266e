// Trace context: a client's traceparent reaches the backend (passed through when tracing is
// off), and with an OTLP endpoint configured the gateway exports a span per routed request,
// child of the client's span and parent of the backend's.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway } from '../fixtures/gateway.js';
import { recordingProxy } from '../fixtures/recording-proxy.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: { key: string; value: { stringValue?: string } }[] }

describe('trace context', () => {
  it('passes the client traceparent to the backend when tracing is off', async () => {
    const backend = await startBackend({ tools: [{ name: 'echo' }] });
    const proxy = await recordingProxy(backend);
    const gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: proxy.url }] } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__echo'), 5000, 'tool');
      const c = await connectClient(gw.mcpUrl, { traceparent: TRACEPARENT });
      await c.client.callTool({ name: 'ops__echo', arguments: {} });
      await c.close();
      assert.ok(proxy.seen.some((h) => h.traceparent === TRACEPARENT));
    } finally {
      await gw.close();
      proxy.close();
      await backend.close();
    }
  });

  it('exports a span per routed request over OTLP, between the client and the backend', async () => {
    const spans: OtlpSpan[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of parsed.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    }).listen(0, '127.0.0.1');
    await new Promise((r) => collector.once('listening', r));
    const backend = await startBackend({ tools: [{ name: 'echo' }] });
    const proxy = await recordingProxy(backend);
    const gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: proxy.url }] },
      tracing: { otlpEndpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` },
    });
    try {
      await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__echo'), 5000, 'tool');
      const c = await connectClient(gw.mcpUrl, { traceparent: TRACEPARENT });
      await c.client.callTool({ name: 'ops__echo', arguments: {} });
      await c.close();
      const span = await eventually(() => spans.find((s) => s.name === 'mcp tools/call'), 5000, 'span exported');
      assert.equal(span.traceId, TRACE_ID);
      assert.equal(span.parentSpanId, CLIENT_SPAN);
      assert.equal(span.attributes.find((a) => a.key === 'mcp.tool')?.value.stringValue, 'ops__echo');
      assert.equal(span.attributes.find((a) => a.key === 'mcp.backend')?.value.stringValue, 'ops');
      const upstream = proxy.seen.map((h) => h.traceparent).find((t) => typeof t === 'string' && t.includes(TRACE_ID));
      assert.equal(upstream, `00-${TRACE_ID}-${span.spanId}-01`, 'the backend sees the gateway span as its parent');
    } finally {
      await gw.close();
      proxy.close();
      await backend.close();
      collector.close();
    }
  });
});
