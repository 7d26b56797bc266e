// The HTTP edge. /mcp, which every call takes, goes straight to its handler on Node's request
// and response; everything else is the Koa application, whose request path is the order of
// `use` calls: request id, then the routes (health, readiness, metrics, admin views).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { CatalogStore } from '../catalog/store.js';
import type { DiscoveryAggregator } from '../discovery/aggregator.js';
import type { McpRouter } from '../mcp/router.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimits } from '../ratelimit/limits.js';
import type { Tracer } from '../observability/tracing.js';
import type { SessionRegistry } from '../mcp/sessions.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { authenticate, authenticator, originGuard, requireAdmin, type AuthOptions } from './auth.js';
import { mcpEndpoint } from './mcp-endpoint.js';

export interface AppParts {
  discovery: DiscoveryAggregator;
  pool: UpstreamPool;
  catalog: CatalogStore;
  sessions: SessionRegistry;
  router: McpRouter;
  maxBodyBytes: number;
  log: Logger;
  inFlight: { count: number };
  /** False once shutdown began: readiness fails so load balancers stop sending. */
  accepting: () => boolean;
  auth: AuthOptions;
  allowedOrigins: readonly string[];
  /** Host names /mcp answers to besides loopback ones; undefined: any. */
  allowedHosts?: (() => ReadonlySet<string> | undefined) | undefined;
  logArguments: 'none' | 'keys' | 'full';
  limits?: RateLimits | undefined;
  metrics?: Metrics | undefined;
  tracer?: (() => Tracer | undefined) | undefined;
  /** RFC 9728 protected-resource metadata, when JWT auth is on. */
  resourceMetadata?: (() => Record<string, unknown>) | undefined;
}

/** The server's request listener: /mcp (any query string) to its handler, the rest to Koa. */
export function createHandler(parts: AppParts): (req: IncomingMessage, res: ServerResponse) => void {
  const koa = createApp(parts).callback();
  const mcp = mcpEndpoint({ ...parts, authenticate: authenticator(parts.auth), guardOrigin: originGuard(parts.allowedOrigins, parts.allowedHosts) });
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path === '/mcp' || path === '/mcp/') void mcp(req, res);
    else void koa(req, res);
  };
}

function createApp(parts: AppParts): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  app.on('error', (error: Error) => parts.log.error({ err: error.message }, 'http error'));

  app.use(async (ctx, next) => {
    const reqId = ctx.get('x-request-id') || randomUUID();
    ctx.state.reqId = reqId;
    ctx.set('x-request-id', reqId);
    await next();
  });

  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', (ctx) => {
    const ready = parts.discovery.ready && parts.accepting();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', backends: parts.discovery.backends.length, tools: parts.catalog.catalog.tools.length };
  });
  const metrics = parts.metrics;
  if (metrics) {
    router.get('/metrics', async (ctx) => {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    });
  }
  const auth = authenticate(parts.auth);
  if (parts.resourceMetadata) {
    const metadata = parts.resourceMetadata;
    router.get(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'], (ctx) => {
      ctx.body = metadata();
    });
  }
  router.use('/admin', auth);
  router.use('/admin', requireAdmin);
  router.get('/admin/backends', (ctx) => {
    ctx.body = parts.pool.describe();
  });
  router.get('/admin/tools', (ctx) => {
    ctx.body = [...parts.catalog.catalog.routes.values()].map((route) => ({
      name: route.exposed,
      backend: route.prefix,
      original: route.original,
      description: route.tool.description ?? '',
    }));
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
