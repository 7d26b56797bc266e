// Central auth over real HTTP with the SDK client: API keys (hashed and plain), JWTs signed
// by a key served from a local JWKS endpoint, tool scopes filtering lists, calls and
// notifications, admin-only views, Origin checks, and no secret in the logs.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { generateKey, sha256 } from '../../src/auth/api-keys.js';
import { startBackend, type TestBackend } from '../fixtures/backend.js';
import { connectClient, eventually, startGateway, textOf, type RunningGateway } from '../fixtures/gateway.js';

const ALICE = 'alice-key-0123456789abcdef';

/** A JWKS endpoint serving one public key, as an authorization server does. */
async function serveJwks(jwk: JWK): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return server;
}
const ADMIN = generateKey();
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://gateway.test/mcp';

describe('auth', () => {
  let ops: TestBackend;
  let hr: TestBackend;
  let gw: RunningGateway;
  let jwks: http.Server;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;

  before(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = await serveJwks(jwk);
    ops = await startBackend({ name: 'ops-1', tools: [{ name: 'lookup_inventory' }, { name: 'search' }] });
    hr = await startBackend({ name: 'hr-1', tools: [{ name: 'search_policy' }] });
    gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: ops.url }, { prefix: 'hr', url: hr.url }] },
      auth: {
        apiKeys: [
          { id: 'alice', key: `sha256:${sha256(ALICE).toString('hex')}`, tools: ['ops__*'] },
          { id: 'root', key: ADMIN.hash, admin: true },
        ],
        jwt: {
          jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
          issuer: ISSUER,
          audience: AUDIENCE,
        },
      },
      logging: { arguments: 'keys' },
    });
    await eventually(() => gw.gateway.catalog.catalog.tools.length === 3, 5000, 'tools');
  });

  after(async () => {
    await gw.close();
    await ops.close();
    await hr.close();
    jwks.close();
  });

  const token = (claims: Record<string, unknown>, opts: { key?: CryptoKey; exp?: string | number; aud?: string; iss?: string } = {}): Promise<string> => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt()
      .setIssuer(opts.iss ?? ISSUER).setAudience(opts.aud ?? AUDIENCE).setSubject('bob');
    if (opts.exp !== undefined) jwt.setExpirationTime(opts.exp);
    return jwt.sign(opts.key ?? signingKey);
  };
  const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
  const initialize = (headers: Record<string, string>): Promise<Response> => fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });

  it('answers no credentials with 401 and a Bearer challenge pointing at the resource metadata', async () => {
    const res = await initialize({});
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.match(challenge, /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/);
    const metadata = (await (await fetch(`${gw.url}/.well-known/oauth-protected-resource`)).json()) as { resource: string; authorization_servers: string[] };
    assert.equal(metadata.resource, `${gw.url}/mcp`);
    assert.deepEqual(metadata.authorization_servers, [ISSUER]);
  });

  it('answers a wrong key with 401 invalid_token', async () => {
    const res = await initialize(bearer('not-the-right-key-at-all'));
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('accepts a valid JWT and refuses expired, foreign-audience, foreign-issuer, badly signed and alg:none tokens', async () => {
    assert.equal((await initialize(bearer(await token({}, { exp: '5m' })))).status, 200);
    const bad = [
      await token({}, { exp: Math.floor(Date.now() / 1000) - 60 }),
      await token({}, { exp: '5m', aud: 'https://someone-else' }),
      await token({}, { exp: '5m', iss: 'https://evil.test' }),
      await token({}, { exp: '5m', key: otherKey }),
      await token({}),
    ];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'x', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url')}.`;
    bad.push(none);
    for (const [i, t] of bad.entries()) assert.equal((await initialize(bearer(t))).status, 401, `token ${i}`);
  });

  it('limits a principal to its globs: lists, calls and notifications', async () => {
    const alice = await connectClient(gw.mcpUrl, bearer(ALICE));
    const root = await connectClient(gw.mcpUrl, bearer(ADMIN.key));
    assert.deepEqual((await alice.client.listTools()).tools.map((t) => t.name), ['ops__lookup_inventory', 'ops__search']);
    assert.equal((await root.client.listTools()).tools.length, 3);
    await assert.rejects(alice.client.callTool({ name: 'hr__search_policy', arguments: {} }), /Unknown tool: hr__search_policy/);
    const hrCalls = hr.calls;
    assert.equal(hr.calls, hrCalls, 'nothing reached the hr backend');
    assert.match(textOf(await alice.client.callTool({ name: 'ops__search', arguments: {} })), /"tool":"search"/);

    // A new hr tool: root hears of it, alice does not.
    const rootHeard = root.nextChange();
    hr.setTools([{ name: 'search_policy' }, { name: 'approve_leave' }]);
    await rootHeard;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(alice.changes(), 0, 'alice is not told of hr tools');
    // A new ops tool: alice is told.
    const aliceHeard = alice.nextChange();
    ops.setTools([{ name: 'lookup_inventory' }, { name: 'search' }, { name: 'create_ticket' }]);
    await aliceHeard;
    assert.ok((await alice.client.listTools()).tools.some((t) => t.name === 'ops__create_ticket'));
    await alice.close();
    await root.close();
  });

  it('takes tool globs from the JWT claim', async () => {
    const c = await connectClient(gw.mcpUrl, bearer(await token({ mcp_tools: ['hr__*'] }, { exp: '5m' })));
    assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name).filter((n) => !n.startsWith('hr__')), []);
    await c.close();
  });

  it('lets only admins read /admin', async () => {
    assert.equal((await fetch(`${gw.url}/admin/backends`)).status, 401);
    assert.equal((await fetch(`${gw.url}/admin/backends`, { headers: bearer(ALICE) })).status, 403);
    assert.equal((await fetch(`${gw.url}/admin/tools`, { headers: bearer(ADMIN.key) })).status, 200);
  });

  it('does not let one principal use another one\'s session', async () => {
    const alice = await connectClient(gw.mcpUrl, bearer(ALICE));
    const sessionId = (alice.client.transport as { sessionId?: string }).sessionId!;
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, ...bearer(ADMIN.key) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
    await alice.close();
  });

  it('refuses a rebound Host on a loopback gateway even without an Origin', async () => {
    const port = new URL(gw.url).port;
    const status = (host: string): Promise<number> => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${ALICE}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }));
    });
    assert.equal(await status(`evil.example.com:${port}`), 403);
    assert.equal(await status(`localhost:${port}`), 200);
  });

  it('refuses a foreign browser Origin and accepts a loopback one', async () => {
    assert.equal((await initialize({ ...bearer(ALICE), origin: 'https://evil.example' })).status, 403);
    assert.equal((await initialize({ ...bearer(ALICE), origin: 'http://localhost:3000' })).status, 200);
  });

  it('never logs keys, tokens or Authorization headers, and logs only argument keys', async () => {
    const c = await connectClient(gw.mcpUrl, bearer(ALICE));
    await c.client.callTool({ name: 'ops__search', arguments: { query: 'secret-value-xyz' } });
    await c.close();
    const all = gw.logs.join('\n');
    assert.ok(!all.includes(ALICE), 'api key absent');
    assert.ok(!all.includes(ADMIN.key), 'admin key absent');
    assert.ok(!/Bearer /i.test(all), 'no Authorization header');
    assert.ok(!all.includes('secret-value-xyz'), 'argument values absent');
    const line = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).findLast((l) => l.tool === 'ops__search' && l.principal === 'alice');
    assert.deepEqual(line?.arguments, ['query']);
  });
});

describe('auth with a required scope', () => {
  it('answers a valid token that lacks the scope with 403 insufficient_scope', async () => {
    const pair = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'e1', alg: 'ES256' };
    const jwks = await serveJwks(jwk);
    const gw = await startGateway({
      auth: { jwt: { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/`, issuer: ISSUER, audience: AUDIENCE, requiredScope: 'mcp:use' } },
    });
    try {
      const sign = (scope: string): Promise<string> => new SignJWT({ scope }).setProtectedHeader({ alg: 'ES256', kid: 'e1' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').setSubject('carol').sign(pair.privateKey);
      const post = (t: string): Promise<Response> => fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${t}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      const refused = await post(await sign('profile'));
      assert.equal(refused.status, 403);
      assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      assert.match(refused.headers.get('www-authenticate') ?? '', /scope="mcp:use"/);
      assert.equal((await post(await sign('profile mcp:use'))).status, 200);
    } finally {
      await gw.close();
      jwks.close();
    }
  });
});

describe('JWT rate limit claim', () => {
  it('limits a principal to the calls per minute its token grants', async () => {
    const pair = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'r1', alg: 'RS256' };
    const jwks = await serveJwks(jwk);
    const backend = await startBackend({ tools: [{ name: 'echo' }] });
    const gw = await startGateway({
      discovery: { static: [{ prefix: 'ops', url: backend.url }] },
      auth: { jwt: { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/`, issuer: ISSUER, audience: AUDIENCE, rateLimitClaim: 'mcp_rpm' } },
      rateLimit: { default: { points: 100, duration: 60 } },
    });
    try {
      await eventually(() => gw.gateway.catalog.catalog.routes.has('ops__echo'), 5000, 'tool');
      const token = await new SignJWT({ mcp_rpm: 2 }).setProtectedHeader({ alg: 'RS256', kid: 'r1' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').setSubject('dave').sign(pair.privateKey);
      const c = await connectClient(gw.mcpUrl, { authorization: `Bearer ${token}` });
      await c.client.callTool({ name: 'ops__echo', arguments: {} });
      await c.client.callTool({ name: 'ops__echo', arguments: {} });
      await assert.rejects(c.client.callTool({ name: 'ops__echo', arguments: {} }), /429|Rate limit exceeded \(principal:dave\)/);
      await c.close();
    } finally {
      await gw.close();
      await backend.close();
      jwks.close();
    }
  });
});
