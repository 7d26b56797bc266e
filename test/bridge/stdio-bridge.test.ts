// The stdio bridge as a child process, driven by the SDK client over stdio: against a running
// gateway (listing, calls, list_changed), across a gateway restart on the same port (the same
// client keeps working), while the gateway is down (queued, then delivered, or failed at the
// deadline), with bearer auth, and straight against a backend for the message types the
// gateway does not originate (progress, sampling, cancellation).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, CreateMessageResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { classifySendError } from '../../src/bridge/stdio-bridge.js';
import { generateKey } from '../../src/auth/api-keys.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';
import { startBridge, type BridgeClient } from './bridge-client.js';

/** A gateway that can be stopped and started again on the same port. */
async function restartableGateway(input: ConfigInput): Promise<{ current: () => RunningGateway; port: number; stop(): Promise<void>; start(): Promise<RunningGateway> }> {
  let gw: RunningGateway | undefined = await startGateway(input);
  const port = Number(new URL(gw.url).port);
  return {
    current: () => {
      if (!gw) throw new Error('gateway is stopped');
      return gw;
    },
    port,
    async stop() {
      await gw?.close();
      gw = undefined;
    },
    async start() {
      gw = await startGateway({ ...input, server: { ...(input.server ?? {}), port } });
      return gw;
    },
  };
}

function toolsReady(gw: RunningGateway, count: number): Promise<boolean> {
  return eventually(() => gw.gateway.catalog.catalog.tools.length === count, 5000, `${count} tools in the catalog`);
}

/** Changes the backend's tools until a list_changed reaches the client (the GET stream opens asynchronously). */
async function changeToolsUntilNotified(backend: TestBackend, bridge: BridgeClient, tools: string[]): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const changed = bridge.nextChange(500);
    backend.setTools([...tools, ...(attempt % 2 ? [`probe_${attempt}`] : [])].map((name) => ({ name })));
    try {
      await changed;
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
    }
  }
}

describe('stdio bridge against a gateway', () => {
  let ops: TestBackend;

  before(async () => {
    ops = await startBackend({ name: 'ops-1', tools: [{ name: 'lookup_inventory' }, { name: 'search' }] });
  });

  after(async () => {
    await ops.close();
  });

  it('lists tools and calls one through the gateway', async () => {
    const gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }] } });
    await toolsReady(gw, 2);
    const bridge = await startBridge(['--url', gw.mcpUrl]);
    try {
      const { tools } = await bridge.client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['ops__lookup_inventory', 'ops__search']);
      const result = await bridge.client.callTool({ name: 'ops__lookup_inventory', arguments: { item_name: '노트북' } });
      assert.deepEqual(JSON.parse(textOf(result)), { tool: 'lookup_inventory', args: { item_name: '노트북' }, instance: 'ops-1' });
      assert.equal(bridge.client.getServerVersion()?.name, 'mcp-gateway');
      assert.doesNotMatch(bridge.logs(), /"level":"(warn|error)"/);
      assert.equal(gw.gateway.sessions.size, 1);
      await bridge.close();
      await eventually(() => gw.gateway.sessions.size === 0, 5000, 'the bridge ended its session (DELETE) when stdin closed');
    } finally {
      await bridge.close();
      await gw.close();
    }
  });

  it('relays tools/list_changed from the gateway to the stdio client', async () => {
    const gw = await startGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }] } });
    await toolsReady(gw, 2);
    const bridge = await startBridge(['--url', gw.mcpUrl]);
    try {
      await bridge.client.listTools();
      await changeToolsUntilNotified(ops, bridge, ['lookup_inventory', 'search', 'create_ticket']);
      await eventually(async () => (await bridge.client.listTools()).tools.some((t) => t.name === 'ops__create_ticket'), 5000, 'ops__create_ticket listed');
    } finally {
      ops.setTools([{ name: 'lookup_inventory' }, { name: 'search' }]);
      await bridge.close();
      await gw.close();
    }
  });

  it('keeps the same client working across a gateway restart on the same port', async () => {
    const gateway = await restartableGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }] } });
    await toolsReady(gateway.current(), 2);
    const bridge = await startBridge(['--url', gateway.current().mcpUrl]);
    const pid = bridge.transport.pid;
    try {
      assert.equal((await bridge.client.listTools()).tools.length, 2);
      await bridge.client.callTool({ name: 'ops__search', arguments: { q: 'before' } });

      await gateway.stop();
      const gw = await gateway.start();
      await toolsReady(gw, 2);

      // The client neither reconnects nor notices: same process, same Client, answers as before.
      const { tools } = await bridge.client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['ops__lookup_inventory', 'ops__search']);
      const result = await bridge.client.callTool({ name: 'ops__search', arguments: { q: 'after' } });
      assert.deepEqual(JSON.parse(textOf(result)), { tool: 'search', args: { q: 'after' }, instance: 'ops-1' });
      assert.equal(bridge.transport.pid, pid);
      assert.match(bridge.logs(), /remote session re-opened/);
      assert.equal(gw.gateway.sessions.size, 1, 'the bridge holds one session on the new gateway');

      // Notifications flow on the new session too.
      await changeToolsUntilNotified(ops, bridge, ['lookup_inventory', 'search', 'after_restart']);
      await eventually(async () => (await bridge.client.listTools()).tools.some((t) => t.name === 'ops__after_restart'), 5000, 'new tool listed');
    } finally {
      ops.setTools([{ name: 'lookup_inventory' }, { name: 'search' }]);
      await bridge.close();
      await gateway.stop();
    }
  });

  it('holds messages while the gateway is down and delivers them once it is back', async () => {
    const gateway = await restartableGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }] } });
    await toolsReady(gateway.current(), 2);
    const bridge = await startBridge(['--url', gateway.current().mcpUrl]);
    try {
      await bridge.client.ping();
      await gateway.stop();
      let settled = false;
      const ping = bridge.client.ping().finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(settled, false, 'the ping waits while the gateway is down');
      const gw = await gateway.start();
      await ping;
      await toolsReady(gw, 2);
      const result = await bridge.client.callTool({ name: 'ops__lookup_inventory', arguments: {} });
      assert.match(textOf(result), /lookup_inventory/);
      assert.match(bridge.logs(), /remote unavailable; retrying/);
    } finally {
      await bridge.close();
      await gateway.stop();
    }
  });

  it('fails a request with a JSON-RPC error once the deadline passes with the gateway down', async () => {
    const gateway = await restartableGateway({ discovery: { static: [{ prefix: 'ops', url: ops.url }] } });
    await toolsReady(gateway.current(), 2);
    const bridge = await startBridge(['--url', gateway.current().mcpUrl, '--deadline', '2']);
    try {
      await gateway.stop();
      const started = Date.now();
      await assert.rejects(bridge.client.callTool({ name: 'ops__search', arguments: {} }), (error: Error & { code?: number }) => {
        assert.equal(error.code, -32000);
        assert.match(error.message, /unreachable .*ECONNREFUSED|ECONNREFUSED/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'failed at the deadline, not at the client timeout (60 s)');
      // The bridge itself lives on: once the gateway is back, calls work again.
      const gw = await gateway.start();
      await toolsReady(gw, 2);
      await eventually(async () => textOf(await bridge.client.callTool({ name: 'ops__search', arguments: {} })).includes('search'), 5000, 'call after recovery');
    } finally {
      await bridge.close();
      await gateway.stop();
    }
  });

  it('answers a call cut off by a gateway shutdown with an error, not a resend', async () => {
    const slow = await startBackend({
      name: 'slow-1',
      tools: [{ name: 'wait', handler: () => new Promise((resolve) => setTimeout(() => resolve({ content: [{ type: 'text', text: 'late' }] }), 8000)) }],
    });
    const gateway = await restartableGateway({ discovery: { static: [{ prefix: 'slow', url: slow.url }] }, server: { drainSeconds: 0.3 } });
    await toolsReady(gateway.current(), 1);
    const bridge = await startBridge(['--url', gateway.current().mcpUrl]);
    try {
      const call = bridge.client.callTool({ name: 'slow__wait', arguments: {} });
      await eventually(() => slow.calls === 1, 5000, 'the call reached the backend');
      const started = Date.now();
      const failed = assert.rejects(call, /may or may not have run/);
      await gateway.stop();
      await failed;
      assert.ok(Date.now() - started < 5000, 'answered when the connection broke, not at the client timeout');
      assert.equal(slow.calls, 1, 'a tools/call is never sent twice');
    } finally {
      await bridge.close();
      await gateway.stop();
      await slow.kill();
    }
  });

  it('sends the token as a bearer and fails fast without it', async () => {
    const key = generateKey();
    const gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }] },
      auth: { apiKeys: [{ id: 'desktop', key: key.hash }] },
    });
    await toolsReady(gw, 2);
    try {
      const bridge = await startBridge(['--url', gw.mcpUrl, '--token', key.key]);
      try {
        assert.equal((await bridge.client.listTools()).tools.length, 2);
        assert.ok(!bridge.logs().includes(key.key), 'the token is not logged');
      } finally {
        await bridge.close();
      }
      const started = Date.now();
      await assert.rejects(startBridge(['--url', gw.mcpUrl]), /refused the connection: HTTP 401/);
      assert.ok(Date.now() - started < 5000, 'a refusal is not retried until the deadline');
    } finally {
      await gw.close();
    }
  });
});

describe('stdio bridge straight against a backend', () => {
  let backend: TestBackend;
  let cancelled = 0;

  before(async () => {
    backend = await startBackend({
      name: 'direct-1',
      tools: [
        {
          // Progress, then a sampling request to the client inside the call.
          name: 'summarize',
          handler: async (args, extra) => {
            const progressToken = extra._meta?.progressToken;
            if (progressToken !== undefined) {
              await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 2 } });
            }
            const sampled = await extra.sendRequest({
              method: 'sampling/createMessage',
              params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.text) } }], maxTokens: 10 },
            }, CreateMessageResultSchema);
            const text = sampled.content.type === 'text' ? sampled.content.text : '';
            return { content: [{ type: 'text', text: `summary: ${text}` }] };
          },
        },
        {
          name: 'slow',
          handler: (_args, extra) => new Promise((resolve) => {
            extra.signal.addEventListener('abort', () => {
              cancelled += 1;
              resolve({ content: [{ type: 'text', text: 'cancelled' }] });
            });
          }),
        },
      ],
    });
  });

  after(async () => {
    await backend.close();
  });

  it('relays progress, server-to-client requests and their answers, and cancellation', async () => {
    const bridge = await startBridge(['--url', backend.url], { capabilities: { sampling: {} } });
    try {
      bridge.client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        const content = request.params.messages[0]?.content;
        const text = content && !Array.isArray(content) && content.type === 'text' ? content.text : '';
        return { role: 'assistant', model: 'test', content: { type: 'text', text: text.toUpperCase() } };
      });
      const progress: Progress[] = [];
      const result = await bridge.client.callTool({ name: 'summarize', arguments: { text: 'hello' } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.equal(textOf(result), 'summary: HELLO');
      assert.deepEqual(progress, [{ progress: 1, total: 2 }]);

      const abort = new AbortController();
      const call = bridge.client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: abort.signal });
      await eventually(() => backend.calls >= 2, 5000, 'slow call arrived');
      abort.abort('test');
      await assert.rejects(call);
      await eventually(() => cancelled === 1, 5000, 'the backend saw notifications/cancelled');
    } finally {
      await bridge.close();
    }
  });
});

describe('classifySendError', () => {
  const connect = (code: string): Error => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
  const cases: [string, unknown, ReturnType<typeof classifySendError>][] = [
    ['404: the remote forgot the session', new StreamableHTTPError(404, 'Session not found'), 'session-lost'],
    ['503: not processed', new StreamableHTTPError(503, 'Service Unavailable'), 'unreachable'],
    ['401: refused', new StreamableHTTPError(401, 'Unauthorized'), 'rejected'],
    ['429: refused', new StreamableHTTPError(429, 'Too Many Requests'), 'rejected'],
    ['connection refused: never sent', connect('ECONNREFUSED'), 'unreachable'],
    ['happy-eyeballs aggregate, refused', new TypeError('fetch failed', { cause: { errors: [{ code: 'ECONNREFUSED' }] } }), 'unreachable'],
    ['reset: may have arrived', connect('ECONNRESET'), 'ambiguous'],
    ['socket closed mid-answer', new TypeError('terminated'), 'ambiguous'],
    ['aborted by the bridge', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'aborted'],
  ];
  for (const [name, error, expected] of cases) {
    it(name, () => assert.equal(classifySendError(error), expected));
  }
});
