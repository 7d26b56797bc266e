// The upstream pool: one InstanceConnection per healthy instance of every backend,
// reconciled against each new backend list. Picks a ready replica per call (round robin),
// retries on another replica when a request surely never left, and reports tool-list
// changes so the catalog can be rebuilt.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { BackendSpec } from '../discovery/snapshot.js';
import type { HeadersFor } from './credentials.js';
import { UpstreamError } from './errors.js';
import { InstanceConnection } from './instance.js';

export interface PoolOptions {
  timeoutMs: number;
  maxBackoffMs: number;
  log: Logger;
  /** Connects at once, at most (a fleet that appears at once must not stampede). */
  connectConcurrency?: number;
  /** Upstream credentials per backend (default: the spec's own headers). */
  headersFor?: HeadersFor;
}

interface BackendState {
  spec: BackendSpec;
  instances: Map<string, InstanceConnection>;
  next: number;
}

export interface RoutedResult {
  result: Record<string, unknown>;
  instance: string;
}

export class UpstreamPool {
  private readonly backends = new Map<string, BackendState>();
  private readonly listeners = new Set<() => void>();
  private changeQueued = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

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
          timeoutMs: this.options.timeoutMs,
          maxBackoffMs: this.options.maxBackoffMs,
          log: this.options.log,
          onChange: () => this.changed(),
          connectSlot: this.connectSlot,
        });
        state.instances.set(id, connection);
        connection.start();
      }
    }
  }

  /** Each backend with a ready instance, and the tools of its first ready instance by id. */
  toolLists(): { prefix: string; tools: readonly Tool[] }[] {
    const out: { prefix: string; tools: readonly Tool[] }[] = [];
    for (const [prefix, state] of this.backends) {
      const ready = [...state.instances.values()].filter((i) => i.state === 'ready').sort((a, b) => a.id.localeCompare(b.id));
      if (ready[0]) out.push({ prefix, tools: ready[0].tools });
    }
    return out;
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
  async request(prefix: string, method: string, params: Record<string, unknown>, signal?: AbortSignal, headers?: Record<string, string>): Promise<RoutedResult> {
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
        return { result: await instance.request(method, params, signal, headers), instance: instance.id };
      } catch (error) {
        if (!(error instanceof UpstreamError) || !error.retryable) throw error;
        lastError = error;
        // A lost session was never processed: the same instance may take it once reconnected.
        if (error.sessionLost && sessionRetries++ === 0 && (await instance.waitReady(5000))) {
          try {
            return { result: await instance.request(method, params, signal, headers), instance: instance.id };
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
