// The Consul discovery source. Two blocking queries watch the whole cluster, however large
// the fleet: the catalog's service list (who carries the opt-in tag) and the health of every
// check. Only services whose tags or check fingerprints changed get a detail fetch, with
// bounded concurrency, over at most three connections to Consul.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import Consul from 'consul';
import type { Logger } from 'pino';
import type { BackendSpec, Snapshot, Source } from '../snapshot.js';
import { deepFreeze } from '../snapshot.js';
import { backendFromEntries, checkFingerprints, taggedServices } from './backends.js';
import { BlockingWatch, type BlockingFetch } from './blocking.js';
import { CatalogServicesSchema, HealthChecksSchema, ServiceEntriesSchema, type HealthCheck } from './payloads.js';

export interface ConsulSourceOptions {
  address: string;
  token: string;
  tag: string;
  datacenter?: string | undefined;
  waitSeconds: number;
  minPollIntervalMs: number;
  concurrency: number;
  maxBackoffMs?: number;
}

type ConsulClient = InstanceType<typeof Consul>;

/** The npm client with our connection cap; the caller owns `destroy()`. */
export function createConsulClient(address: string, token: string, maxSockets = 3): ConsulClient {
  const url = new URL(address);
  const agent = url.protocol === 'https:'
    ? new https.Agent({ keepAlive: true, maxSockets })
    : new http.Agent({ keepAlive: true, maxSockets });
  return new Consul({
    baseUrl: `${url.origin}${url.pathname.replace(/\/$/, '')}/v1`,
    agent,
    ...(token ? { defaults: { token } } : {}),
  } as ConstructorParameters<typeof Consul>[0]);
}

export interface ConsulSourceEvents {
  /** Consul answered again after failures, or its index went backwards. */
  resync: [];
  /** Every service name in the catalog (any tag), after each catalog change. */
  services: [ReadonlySet<string>];
}

export class ConsulSource extends EventEmitter<ConsulSourceEvents> implements Source {
  readonly name = 'consul';
  readonly client: ConsulClient;
  private readonly watches: BlockingWatch<unknown>[] = [];
  private catalog: Map<string, string> | undefined;
  private checks: HealthCheck[] | undefined;
  private readonly fetchedKey = new Map<string, string>();
  private readonly backends = new Map<string, BackendSpec>();
  private readonly nodes = new Map<string, Set<string>>();
  private emitSnapshot: ((snapshot: Snapshot) => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private emittedOnce = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly inFlight = new Set<EventEmitter>();
  /** Failed Consul requests since start (for metrics). */
  errors = 0;
  lastSyncAt = 0;

  constructor(private readonly options: ConsulSourceOptions, private readonly log: Logger) {
    super();
    this.client = createConsulClient(options.address, options.token);
  }

  async start(emit: (snapshot: Snapshot) => void): Promise<void> {
    this.emitSnapshot = emit;
    const common = {
      waitSeconds: this.options.waitSeconds,
      minIntervalMs: this.options.minPollIntervalMs,
      maxBackoffMs: this.options.maxBackoffMs ?? 3000,
      log: this.log,
    };
    const onError = (): void => { this.errors += 1; };
    this.watches.push(new BlockingWatch(
      this.blocking((opts) => this.client.catalog.service.list(opts)),
      (body) => CatalogServicesSchema.parse(body),
      (data, meta) => {
        if (meta.reset || meta.recovered) this.onResync();
        this.catalog = taggedServices(data, this.options.tag);
        this.emit('services', new Set(Object.keys(data)));
        this.schedule();
      },
      onError,
      { ...common, name: 'catalog-services' },
    ) as BlockingWatch<unknown>);
    // Service checks of tagged services, plus node checks (a failed node fails its services).
    const filter = `ServiceTags contains ${JSON.stringify(this.options.tag)} or ServiceID == ""`;
    this.watches.push(new BlockingWatch(
      this.blocking((opts) => this.client.health.state({ ...opts, state: 'any', filter })),
      (body) => HealthChecksSchema.parse(body),
      (data, meta) => {
        if (meta.reset || meta.recovered) this.onResync();
        this.checks = data;
        this.schedule();
      },
      onError,
      { ...common, name: 'health-state' },
    ) as BlockingWatch<unknown>);
    for (const watch of this.watches) watch.start();
  }

  private blocking(call: (opts: Record<string, unknown>) => Promise<unknown>): BlockingFetch {
    return async (index, waitSeconds, timeoutMs) => {
      // The client (papi) takes an EventEmitter as ctx: 'cancel' aborts the request, and
      // includeResponse makes it return the response, whose X-Consul-Index we need.
      const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
      this.inFlight.add(ctx);
      const opts: Record<string, unknown> = { index: String(index), wait: `${waitSeconds}s`, timeout: timeoutMs, ctx };
      if (this.options.datacenter) opts.dc = this.options.datacenter;
      try {
        const [res, body] = (await call(opts)) as [{ headers: Record<string, string | undefined> }, unknown];
        const header = res.headers['x-consul-index'];
        return { index: header ? BigInt(header) : undefined, body };
      } finally {
        this.inFlight.delete(ctx);
      }
    };
  }

  private onResync(): void {
    this.fetchedKey.clear();
    this.emit('resync');
  }

  /** Runs sync() now, or once more after the current run: bursts coalesce into one pass. */
  private schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.sync();
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
  }

  private async sync(): Promise<void> {
    const catalog = this.catalog;
    const checks = this.checks;
    if (!catalog || !checks) return;
    const prints = checkFingerprints(checks, this.nodes);
    let changed = false;
    for (const service of new Set([...this.fetchedKey.keys(), ...this.backends.keys()])) {
      if (catalog.has(service)) continue;
      this.fetchedKey.delete(service);
      this.nodes.delete(service);
      if (this.backends.delete(service)) changed = true;
    }
    const dirty: [string, string][] = [];
    for (const [service, tags] of catalog) {
      const key = `${tags}#${prints.get(service) ?? ''}`;
      if (this.fetchedKey.get(service) !== key) dirty.push([service, key]);
    }
    let failed = false;
    const queue = dirty.slice();
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item && !this.closed; item = queue.shift()) {
        const [service, key] = item;
        try {
          const opts = { service, timeout: 10_000, ...(this.options.datacenter ? { dc: this.options.datacenter } : {}) };
          const body: unknown = await this.client.health.service(opts as { service: string });
          const result = backendFromEntries(service, ServiceEntriesSchema.parse(body), this.options.tag);
          for (const problem of result.problems) this.log.warn({ service }, problem);
          this.nodes.set(service, result.nodes);
          this.fetchedKey.set(service, key);
          const before = this.backends.get(service);
          if (result.backend) this.backends.set(service, result.backend);
          else this.backends.delete(service);
          if (JSON.stringify(before) !== JSON.stringify(result.backend ?? undefined)) changed = true;
        } catch (error) {
          failed = true;
          this.errors += 1;
          this.log.warn({ service, err: (error as Error).message }, 'consul service fetch failed; will retry');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, worker));
    if (this.closed) return;
    if (failed && !this.retryTimer) {
      this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.schedule(); }, 1000);
    }
    this.lastSyncAt = Date.now();
    if (changed || !this.emittedOnce) {
      this.emittedOnce = true;
      this.emitSnapshot?.(deepFreeze({ source: this.name, backends: this.snapshotBackends() }));
    }
  }

  private snapshotBackends(): BackendSpec[] {
    // Two services claiming one prefix: the first by service name keeps it (logged downstream).
    return [...this.backends.values()].sort((a, b) => a.service.localeCompare(b.service));
  }

  /** Seconds since the last completed sync (metrics, readiness). */
  get syncAgeSeconds(): number {
    return this.lastSyncAt ? (Date.now() - this.lastSyncAt) / 1000 : Number.POSITIVE_INFINITY;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const closing = this.watches.map((w) => w.close());
    for (const ctx of this.inFlight) ctx.emit('cancel');
    this.client.destroy();
    await Promise.all(closing);
    await this.running;
  }
}
