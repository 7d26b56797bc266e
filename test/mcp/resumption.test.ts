// A client whose event stream dropped resumes it with Last-Event-ID and receives the
// list_changed it missed meanwhile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBackend } from '../fixtures/backend.js';
import { eventually, startGateway } from '../fixtures/gateway.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };

/** Opens the session's GET stream and collects its events until `stop` is called. */
function listen(url: string, session: string, lastEventId?: string): { events: { id?: string; data: string }[]; stop(): void } {
  const controller = new AbortController();
  const events: { id?: string; data: string }[] = [];
  void (async () => {
    const res = await fetch(url, { headers: { ...HEADERS, accept: 'text/event-stream', 'mcp-session-id': session, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal: controller.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        if (data.trim()) events.push({ ...(id ? { id } : {}), data });
      }
    }
  })().catch(() => undefined);
  return { events, stop: () => controller.abort() };
}

describe('stream resumption', () => {
  it('replays a list_changed sent while the client was away', async () => {
    const backend = await startBackend({ tools: [{ name: 'a' }] });
    const gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: backend.url }] } });
    try {
      await eventually(() => gw.gateway.catalog.catalog.tools.length === 1, 5000, 'tools');
      const init = await fetch(gw.mcpUrl, { method: 'POST', headers: HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'r', version: '1' } } }) });
      await init.text();
      const session = init.headers.get('mcp-session-id')!;
      await fetch(gw.mcpUrl, { method: 'POST', headers: { ...HEADERS, 'mcp-session-id': session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });

      const first = listen(gw.mcpUrl, session);
      await new Promise((r) => setTimeout(r, 200));
      backend.setTools([{ name: 'a' }, { name: 'b' }]);
      await eventually(() => first.events.some((e) => e.data.includes('tools/list_changed')), 5000, 'first list_changed');
      const seen = first.events.find((e) => e.data.includes('tools/list_changed'))!;
      assert.ok(seen.id, 'events carry ids');
      first.stop();
      await new Promise((r) => setTimeout(r, 200));

      backend.setTools([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__c'), 5000, 'change applied while away');
      const resumed = listen(gw.mcpUrl, session, seen.id);
      await eventually(() => resumed.events.some((e) => e.data.includes('tools/list_changed')), 5000, 'missed list_changed replayed');
      resumed.stop();
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
