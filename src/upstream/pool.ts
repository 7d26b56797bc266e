// The upstream pool: one InstanceConnection per healthy instance of every backend,
// reconciled against each new backend list. Picks a ready replica per call (round robin),
// retries on another replica when a request surely never left, and reports tool-list
// changes so the catalog can be rebuilt.
import type { Logger } from 'pino';
import type { BackendSpec } from '../discovery/snapshot.js';
import type { HeadersFor } from './credentials.js';
import { UpstreamError } from './errors.js';
import { InstanceConnection, type CallOptions, type Lists } from './instance.js';
import type { RawResult } from './rpc.js';

export interface PoolOptions {
  timeoutMs: number;
  maxBackoffMs: number;
  log: Logger;
  /** Connects at once, at most (a fleet that appears at once must not stampede). */
  connectConcurrency?: number;
  /** Upstream credentials per backend (default: the spec's own headers). */
  headersFor?: HeadersFor;
  /** Per-backend call timeout, ms (default: timeoutMs). */
  timeoutFor?: (prefix: string) => number | undefined;
  /** A backend says one of its resources changed (`uri` as the backend names it). */
  onResourceUpdated?: (prefix: string, uri: string) => void;
}

interface BackendState {
  spec: BackendSpec;
  instances: Map<string, InstanceConnection>;
  next: number;
}

export interface RoutedResult {
  /** A RawResult only when the call gave `onPassthrough`. */
  result: Record<string, unknown> | RawResult;
  instance: string;
}

export class UpstreamPool {
  private readonly backends = new Map<string, BackendState>();
  private readonly listeners = new Set<() => void>();
  private changeQueued = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Resource subscriptions per backend, kept on every ready instance. */
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly recentUpdates = new Map<string, number>();

  constructor(private readonly options: PoolOptions) {}

  /** Called (coalesced per tick) when any backend's routable tools may have changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    if (this.changeQueued) return;
    this.changeQueued = true;
    setImmediate(() => {
      this.changeQueued = false;
      for (const listener of this.listeners) listener();
    });
  }

  private readonly connectSlot = async <T>(fn: () => Promise<T>): Promise<T> => {
    const limit = this.options.connectConcurrency ?? 32;
    if (this.active >= limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await fn();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  };

  /** Brings connections in line with the backend list: opens new, closes gone or unhealthy. */
  reconcile(backends: readonly BackendSpec[]): void {
    const wanted = new Map(backends.map((b) => [b.prefix, b]));
    for (const [prefix, state] of this.backends) {
      const spec = wanted.get(prefix);
      if (!spec || spec.service !== state.spec.service || spec.source !== state.spec.source) {
        this.backends.delete(prefix);
        for (const instance of state.instances.values()) void instance.close();
        this.changed();
      }
    }
    for (const spec of backends) {
      let state = this.backends.get(spec.prefix);
      if (!state) {
        state = { spec, instances: new Map(), next: 0 };
        this.backends.set(spec.prefix, state);
      }
      state.spec = spec;
      const healthy = new Map(spec.instances.filter((i) => i.healthy).map((i) => [i.id, i]));
      for (const [id, connection] of state.instances) {
        const instance = healthy.get(id);
        if (!instance || instance.url !== connection.url) {
          state.instances.delete(id);
          void connection.close();
          this.changed();
        }
      }
      for (const [id, instance] of healthy) {
        if (state.instances.has(id)) continue;
        const connection = new InstanceConnection({
          prefix: spec.prefix,
          spec: instance,
          headers: () => (this.options.headersFor ? this.options.headersFor(spec.prefix, spec.headers) : Promise.resolve({ ...(spec.headers ?? {}) })),
          timeoutMs: this.options.timeoutFor?.(spec.prefix) ?? this.options.timeoutMs,
          maxBackoffMs: this.options.maxBackoffMs,
          log: this.options.log,
          onChange: () => {
            if (connection.state === 'ready') this.resubscribe(spec.prefix, connection);
            this.changed();
          },
          onResourceUpdated: (uri) => this.resourceUpdated(spec.prefix, uri),
          connectSlot: this.connectSlot,
        });
        state.instances.set(id, connection);
        connection.start();
      }
    }
  }

  /** Each backend with a ready instance, and the lists of its first ready instance by id. */
  lists(): { prefix: string; lists: Lists }[] {
    const out: { prefix: string; lists: Lists }[] = [];
    for (const [prefix, state] of this.backends) {
      const first = this.readyInstances(state)[0];
      if (first) out.push({ prefix, lists: first.lists });
    }
    return out;
  }

  private readyInstances(state: BackendState): InstanceConnection[] {
    return [...state.instances.values()].filter((i) => i.state === 'ready').sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Subscribes (or not) every ready instance of `prefix` to `uri`. */
  async subscribe(prefix: string, uri: string, on: boolean): Promise<void> {
    let set = this.subscriptions.get(prefix);
    if (!set) this.subscriptions.set(prefix, (set = new Set()));
    if (on) set.add(uri);
    else set.delete(uri);
    const state = this.backends.get(prefix);
    if (!state) throw new UpstreamError(`backend "${prefix}" has no healthy instance`, prefix, undefined);
    const ready = this.readyInstances(state);
    if (ready.length === 0) throw new UpstreamError(`backend "${prefix}" has no healthy instance`, prefix, undefined);
    await Promise.all(ready.map((i) => i.subscribe(uri, on)));
  }

  private resubscribe(prefix: string, connection: InstanceConnection): void {
    for (const uri of this.subscriptions.get(prefix) ?? []) void connection.subscribe(uri, true).catch(() => undefined);
  }

  /** Replicas each report an update: pass one on per resource within a short window. */
  private resourceUpdated(prefix: string, uri: string): void {
    const key = `${prefix}\0${uri}`;
    const now = Date.now();
    if ((this.recentUpdates.get(key) ?? 0) > now - 50) return;
    this.recentUpdates.set(key, now);
    if (this.recentUpdates.size > 10_000) this.recentUpdates.clear();
    this.options.onResourceUpdated?.(prefix, uri);
  }

  /** Sends a request to every ready instance that offers `capability` (e.g. logging/setLevel). */
  async broadcast(method: string, params: Record<string, unknown>, capability: 'logging' | 'completions'): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (const state of this.backends.values()) {
      for (const instance of this.readyInstances(state)) {
        if (instance.capabilities[capability]) calls.push(instance.request(method, params).catch(() => undefined));
      }
    }
    await Promise.all(calls);
  }

  /** What /admin/backends shows. */
  describe(): { prefix: string; service: string; source: string; instances: { id: string; address: string; port: number; healthy: boolean; url: string; connected: boolean }[] }[] {
    return [...this.backends.values()]
      .map((state) => ({
        prefix: state.spec.prefix,
        service: state.spec.service,
        source: state.spec.source,
        instances: state.spec.instances.map((i) => ({
          id: i.id,
          address: i.address,
          port: i.port,
          healthy: i.healthy,
          url: i.url,
          connected: state.instances.get(i.id)?.state === 'ready',
        })),
      }))
      .sort((a, b) => a.prefix.localeCompare(b.prefix));
  }

  /** Sends a request to a ready replica of `prefix`; another replica if it never left. */
  async request(prefix: string, method: string, params: Record<string, unknown>, options: CallOptions = {}): Promise<RoutedResult> {
    const state = this.backends.get(prefix);
    const tried = new Set<string>();
    let lastError: UpstreamError | undefined;
    let sessionRetries = 0;
    for (;;) {
      const instance = state && this.pick(state, tried);
      if (!instance) {
        throw lastError ?? new UpstreamError(`backend "${prefix}" has no healthy instance`, prefix, undefined);
      }
      try {
        return { result: await instance.request(method, params, options), instance: instance.id };
      } catch (error) {
        if (!(error instanceof UpstreamError) || !error.retryable) throw error;
        lastError = error;
        // A lost session was never processed: the same instance may take it once reconnected.
        if (error.sessionLost && sessionRetries++ === 0 && (await instance.waitReady(5000))) {
          try {
            return { result: await instance.request(method, params, options), instance: instance.id };
          } catch (again) {
            if (!(again instanceof UpstreamError) || !again.retryable) throw again;
            lastError = again;
          }
        }
        tried.add(instance.id);
      }
    }
  }

  private pick(state: BackendState, tried: ReadonlySet<string>): InstanceConnection | undefined {
    const ready: InstanceConnection[] = [];
    for (const instance of state.instances.values()) {
      if (instance.state === 'ready' && !tried.has(instance.id)) ready.push(instance);
    }
    if (ready.length === 0) return undefined;
    state.next = (state.next + 1) % ready.length;
    return ready[state.next];
  }

  async close(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const state of this.backends.values()) for (const instance of state.instances.values()) closing.push(instance.close());
    this.backends.clear();
    await Promise.all(closing);
  }
}
