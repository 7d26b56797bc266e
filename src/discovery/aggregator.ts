// Keeps the latest snapshot of each source, drops unchanged ones, coalesces bursts and
// merges them into one backend list keyed by prefix. A prefix claimed twice goes to the
// source listed first (then the first service by name); the loser is logged, never merged.
import type { Logger } from 'pino';
import type { BackendSpec, Snapshot, Source } from './snapshot.js';
import { deepFreeze } from './snapshot.js';

export type BackendsListener = (backends: readonly BackendSpec[]) => void;

export interface Merge {
  backends: BackendSpec[];
  conflicts: string[];
}

/** Pure merge: sources in priority order, each a list of backends. */
export function mergeSnapshots(order: readonly string[], latest: ReadonlyMap<string, Snapshot>): Merge {
  const byPrefix = new Map<string, BackendSpec>();
  const conflicts: string[] = [];
  for (const source of order) {
    for (const backend of latest.get(source)?.backends ?? []) {
      const holder = byPrefix.get(backend.prefix);
      if (holder) {
        conflicts.push(`prefix "${backend.prefix}" of ${backend.source} service "${backend.service}" is already taken by ${holder.source} service "${holder.service}"; ignored`);
        continue;
      }
      byPrefix.set(backend.prefix, backend);
    }
  }
  return { backends: [...byPrefix.values()].sort((a, b) => a.prefix.localeCompare(b.prefix)), conflicts };
}

export class DiscoveryAggregator {
  private readonly latest = new Map<string, Snapshot>();
  private readonly keys = new Map<string, string>();
  private readonly listeners = new Set<BackendsListener>();
  private merged: readonly BackendSpec[] = deepFreeze([]);
  private lastConflicts = '';
  private flushQueued = false;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(private readonly sources: readonly Source[], private readonly log: Logger) {}

  get backends(): readonly BackendSpec[] {
    return this.merged;
  }

  /** Every source has delivered its first snapshot. */
  get ready(): boolean {
    return this.sources.every((s) => this.latest.has(s.name));
  }

  whenReady(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  subscribe(listener: BackendsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.start((snapshot) => this.accept(snapshot))));
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.close()));
  }

  private accept(snapshot: Snapshot): void {
    const key = JSON.stringify(snapshot.backends);
    const first = !this.latest.has(snapshot.source);
    if (!first && this.keys.get(snapshot.source) === key) return;
    this.keys.set(snapshot.source, key);
    this.latest.set(snapshot.source, snapshot);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Snapshots arriving in the same tick (several sources starting) become one update.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const { backends, conflicts } = mergeSnapshots(this.sources.map((s) => s.name), this.latest);
    const conflictKey = conflicts.join('\n');
    if (conflictKey !== this.lastConflicts) {
      for (const conflict of conflicts) this.log.warn(conflict);
      this.lastConflicts = conflictKey;
    }
    this.merged = deepFreeze(backends);
    for (const listener of this.listeners) listener(this.merged);
    if (this.ready) for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
}
