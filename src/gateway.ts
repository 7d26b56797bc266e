// Wires the flow config → discovery → upstream pool → catalog → sessions → HTTP, and owns
// the lifecycle: start() in that order; close() deregisters, stops intake, drains calls in
// flight, then closes sessions, pools and the Consul client.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ApiKeyStore } from './auth/api-keys.js';
import { JwtVerifier } from './auth/jwt.js';
import { CatalogStore } from './catalog/store.js';
import { separatorWarning } from './catalog/naming.js';
import type { Config } from './config/schema.js';
import { DiscoveryAggregator } from './discovery/aggregator.js';
import { ConsulSource } from './discovery/consul/source.js';
import type { Source } from './discovery/snapshot.js';
import { backendsFromEnv, StaticSource } from './discovery/static.js';
import { createHandler } from './http/app.js';
import { McpRouter } from './mcp/router.js';
import { ToolSearch } from './mcp/tool-search.js';
import { CompositeEngine } from './composite/engine.js';
import type { CompositeToolDefinition } from './composite/code.js';
import { SessionRegistry } from './mcp/sessions.js';
import { GatewayService } from './registration/gateway-service.js';
import { credentialHeaders } from './upstream/credentials.js';
import { UpstreamPool } from './upstream/pool.js';
import { Metrics } from './observability/metrics.js';
import { RateLimits } from './ratelimit/limits.js';
import { createTracer, type Tracer } from './observability/tracing.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export interface GatewayOptions {
  config: Config;
  log: Logger;
  /** Environment for `<NAME>_SERVER_URL` backends (default: none). */
  env?: Record<string, string | undefined>;
  /** Composite tools written in TypeScript (defineCompositeTool), besides the config's. */
  compositeTools?: readonly CompositeToolDefinition[];
}

export class Gateway {
  readonly discovery: DiscoveryAggregator;
  readonly pool: UpstreamPool;
  readonly catalog: CatalogStore;
  readonly sessions: SessionRegistry;
  readonly consul: ConsulSource | undefined;
  readonly limits: RateLimits | undefined;
  readonly metrics: Metrics;
  private readonly server: http.Server;
  private readonly inFlight = { count: 0 };
  private accepting = true;
  private registration: GatewayService | undefined;
  private closing: Promise<void> | undefined;
  /** Discovery sources in priority order, for the start-up line. */
  private readonly sourceNames: string[];
  private tracer: Tracer | undefined;
  private allowedHosts: ReadonlySet<string> | undefined;

  constructor(private readonly options: GatewayOptions) {
    const { config, log } = options;
    const sources: Source[] = [];
    if (config.discovery.static.length) sources.push(new StaticSource('static', config.discovery.static));
    const fromEnv = backendsFromEnv(options.env ?? {});
    for (const problem of fromEnv.errors) log.warn(problem);
    if (fromEnv.backends.length) sources.push(new StaticSource('env', fromEnv.backends));
    const consulConfig = config.discovery.consul;
    if (consulConfig) {
      this.consul = new ConsulSource({
        address: consulConfig.address,
        token: consulConfig.token,
        tag: consulConfig.tag,
        datacenter: consulConfig.datacenter,
        waitSeconds: consulConfig.waitSeconds,
        minPollIntervalMs: consulConfig.minPollIntervalMs,
        concurrency: consulConfig.concurrency,
      }, log.child({ component: 'consul' }));
      sources.push(this.consul);
    }
    const warning = separatorWarning(config.naming);
    if (warning) log.warn(warning);

    this.sourceNames = sources.map((source) => source.name);
    this.discovery = new DiscoveryAggregator(sources, log);
    this.metrics = new Metrics({
      backends: () => this.pool.describe(),
      catalogTools: () => this.catalog.catalog.tools.length,
      sessions: () => this.sessions.size,
      consul: () => this.consul && { errors: this.consul.errors, syncAgeSeconds: this.consul.syncAgeSeconds },
      redisFallback: () => this.limits?.usingFallback,
    });
    if (config.rateLimit) {
      this.limits = new RateLimits(config.rateLimit, log.child({ component: 'ratelimit' }), {
        onRejected: (rule) => this.metrics.rateLimited.inc({ rule }),
        onFallbackUse: () => this.metrics.fallbackRequests.inc(),
      });
    }
    this.pool = new UpstreamPool({
      timeoutMs: config.upstream.timeoutSeconds * 1000,
      maxBackoffMs: config.upstream.maxBackoffSeconds * 1000,
      log: log.child({ component: 'upstream' }),
      timeoutFor: (prefix) => {
        const seconds = config.backends[prefix]?.timeoutSeconds;
        return seconds === undefined ? undefined : seconds * 1000;
      },
      onResourceUpdated: (prefix, uri) => this.sessions.resourceUpdated(prefix, uri),
      headersFor: credentialHeaders(
        config.upstream.headers,
        this.consul && config.upstream.kvPrefix ? { source: this.consul, prefix: config.upstream.kvPrefix } : undefined,
        log,
      ),
    });
    const composite = config.composite || options.compositeTools?.length
      ? new CompositeEngine(config.composite ?? { prefix: 'flow', tools: [] }, options.compositeTools ?? [])
      : undefined;
    this.catalog = new CatalogStore(config.naming, log, config.backends, composite && { prefix: composite.prefix, tools: (available) => composite.listTools(available) });
    const router = new McpRouter(this.catalog, this.pool, {
      engine: new ToolSearch(this.catalog, config.toolSearch.limit),
      enabledByDefault: config.toolSearch.enabled,
    }, composite && { engine: composite, limits: this.limits, log });
    this.sessions = new SessionRegistry(this.catalog, router, log, { pageSize: config.server.pageSize, idleSeconds: config.server.sessionIdleSeconds }, (level) => {
      void this.pool.broadcast('logging/setLevel', { level }, 'logging');
    });
    this.discovery.subscribe((backends) => this.pool.reconcile(backends));
    this.pool.onChange(() => this.catalog.schedule(() => this.pool.lists().map(({ prefix, lists }) => ({ prefix, ...lists }))));

    const auth = config.auth;
    const authEnabled = auth !== undefined && auth.mode === 'required';
    const jwt = auth?.jwt ? new JwtVerifier(auth.jwt) : undefined;
    const metadataUrl = (): string | undefined => (jwt ? `${this.publicUrl}/.well-known/oauth-protected-resource` : undefined);
    const handler = createHandler({
      auth: {
        enabled: authEnabled,
        keys: auth?.apiKeys.length ? new ApiKeyStore(auth.apiKeys) : undefined,
        jwt,
        requiredScope: auth?.jwt?.requiredScope,
        resourceMetadataUrl: metadataUrl,
        log,
      },
      allowedOrigins: config.server.allowedOrigins,
      allowedHosts: () => this.allowedHosts,
      limits: this.limits,
      metrics: this.metrics,
      tracer: () => this.tracer,
      logArguments: config.logging.arguments,
      resourceMetadata: auth?.jwt ? () => ({
        resource: `${this.publicUrl}/mcp`,
        authorization_servers: [auth.jwt!.issuer],
        bearer_methods_supported: ['header'],
        scopes_supported: [...new Set([...(auth.jwt!.requiredScope ? [auth.jwt!.requiredScope] : []), ...Object.keys(auth.jwt!.scopes), auth.jwt!.adminScope])],
        resource_name: 'mcp-gateway',
      }) : undefined,
      discovery: this.discovery,
      pool: this.pool,
      catalog: this.catalog,
      sessions: this.sessions,
      router,
      maxBodyBytes: config.server.maxBodyBytes,
      log,
      inFlight: this.inFlight,
      accepting: () => this.accepting,
    });
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  }

  /** The URL clients use (config server.publicUrl, else the bound address). */
  get publicUrl(): string {
    return (this.options.config.server.publicUrl ?? this.url).replace(/\/$/, '');
  }

  /** The bound address (port 0 in the config picks a free one). */
  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Where to listen: without an `auth` section, loopback only (CONTRACT §3). */
  private bindHost(): string {
    const { config, log } = this.options;
    const host = config.server.host;
    if (config.auth) {
      if (config.auth.mode === 'none') log.warn({ host }, 'auth is off (auth.mode: none): anyone who reaches this address can call every tool');
      return host;
    }
    if (!LOOPBACK_HOSTS.has(host)) {
      log.warn({ requested: host }, 'no auth section: binding to 127.0.0.1 only; set auth (or auth.mode: none) to serve other addresses');
      return '127.0.0.1';
    }
    log.warn('no auth section: serving on loopback without authentication');
    return host;
  }

  async start(): Promise<void> {
    const { config, log } = this.options;
    this.tracer = await createTracer(config.tracing.otlpEndpoint, log);
    const host = this.bindHost();
    const names = [...(config.server.allowedHosts ?? []), ...(config.server.publicUrl ? [new URL(config.server.publicUrl).hostname] : [])];
    if (config.server.allowedHosts || LOOPBACK_HOSTS.has(host)) this.allowedHosts = new Set(names);
    this.server.listen(config.server.port, host);
    await once(this.server, 'listening');
    await this.discovery.start();
    const consulConfig = config.discovery.consul;
    if (this.consul && consulConfig?.register) {
      const port = (this.server.address() as AddressInfo).port;
      const address = consulConfig.advertiseAddress ?? (['0.0.0.0', '::'].includes(config.server.host) ? '127.0.0.1' : config.server.host);
      this.registration = new GatewayService(this.consul, { address, port }, log.child({ component: 'registration' }));
      await this.registration.register();
    }
    log.info({
      url: `${this.url}/mcp`,
      sources: this.sourceNames.map((name) => (name === 'consul' ? `consul(${config.discovery.consul?.address})` : name)),
      auth: this.authSummary(),
      naming: config.naming,
    }, 'gateway listening');
  }

  /** What auth is configured, without a single secret. */
  private authSummary(): Record<string, unknown> {
    const auth = this.options.config.auth;
    if (!auth) return { mode: 'none (loopback only)' };
    if (auth.mode === 'none') return { mode: 'none' };
    return {
      mode: 'required',
      apiKeys: auth.apiKeys.map((k) => k.id),
      jwt: auth.jwt ? { issuer: auth.jwt.issuer, audience: auth.jwt.audience, jwksUrl: auth.jwt.jwksUrl } : undefined,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const { log, config } = this.options;
    this.accepting = false;
    await this.registration?.deregister();
    // Stop intake: no new connections; idle keep-alive sockets close now.
    this.server.close();
    this.server.closeIdleConnections();
    const deadline = Date.now() + config.server.drainSeconds * 1000;
    while (this.inFlight.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    if (this.inFlight.count > 0) log.warn({ inFlight: this.inFlight.count }, 'drain deadline passed; closing with calls in flight');
    this.catalog.close();
    await this.sessions.close();
    this.server.closeAllConnections();
    await this.pool.close();
    await this.discovery.close();
    await this.limits?.close();
    await this.tracer?.close();
    log.info('gateway stopped');
  }
}
