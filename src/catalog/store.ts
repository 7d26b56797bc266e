// Holds the current catalog and rebuilds it when the pool reports new tool lists; listeners
// hear only real changes (a rebuild with the same content keeps the old version).
import type { Logger } from 'pino';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { buildCatalog, EMPTY_CATALOG, type BackendLists, type Catalog, type Curation } from './catalog.js';
import type { NamingOptions } from './naming.js';

export type CatalogListener = (next: Catalog, previous: Catalog) => void;

/** Tools the gateway itself serves under a prefix of its own (composite tools). */
export interface VirtualBackend {
  readonly prefix: string;
  /** Its tools, given which exposed names the backends currently offer. */
  tools(isAvailable: (exposed: string) => boolean): Tool[];
}

export class CatalogStore {
  private current: Catalog = EMPTY_CATALOG;
  private readonly listeners = new Set<CatalogListener>();
  private lastCollisions = '';

  constructor(
    private readonly naming: NamingOptions,
    private readonly log: Logger,
    private readonly curation: Readonly<Record<string, Curation>> = {},
    private readonly virtual?: VirtualBackend,
  ) {}

  private shadowed = '';
  private lastBuild = 0;
  private timer: NodeJS.Timeout | undefined;
  private read: (() => readonly BackendLists[]) | undefined;

  /**
   * Rebuilds from `read()` now, or once `minIntervalMs` after the last rebuild: a fleet that
   * connects at once costs a rebuild per interval, not one per backend, while a single
   * change after a quiet spell is applied at once.
   */
  schedule(read: () => readonly BackendLists[], minIntervalMs = 50): void {
    this.read = read;
    if (this.timer) return;
    const wait = this.lastBuild + minIntervalMs - Date.now();
    if (wait <= 0) {
      this.lastBuild = Date.now();
      this.update(read());
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastBuild = Date.now();
      if (this.read) this.update(this.read());
    }, wait);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get catalog(): Catalog {
    return this.current;
  }

  subscribe(listener: CatalogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  update(all: readonly BackendLists[]): void {
    let backends = all;
    let next: Catalog;
    if (this.virtual) {
      const prefix = this.virtual.prefix;
      const clash = all.filter((b) => b.prefix === prefix).map((b) => b.prefix).join(',');
      if (clash !== this.shadowed) {
        if (clash) this.log.warn({ event: 'name_collision', prefix }, `a backend uses prefix "${prefix}", reserved for composite tools; its tools are not exposed`);
        this.shadowed = clash;
      }
      backends = all.filter((b) => b.prefix !== prefix);
      // Composite tools show only while every tool their required steps call is there.
      const base = buildCatalog(backends, this.naming, this.current.version + 1, this.curation);
      const virtual = { prefix, tools: this.virtual.tools((name) => base.routes.has(name)) };
      next = virtual.tools.length ? buildCatalog([...backends, virtual], this.naming, this.current.version + 1, this.curation) : base;
    } else {
      next = buildCatalog(backends, this.naming, this.current.version + 1, this.curation);
    }
    const collisions = next.collisions.join('\n');
    if (collisions !== this.lastCollisions) {
      for (const line of next.collisions) this.log.warn({ event: 'name_collision' }, line);
      this.lastCollisions = collisions;
    }
    const same = next.key === this.current.key && next.keys.prompts === this.current.keys.prompts
      && next.keys.resources === this.current.keys.resources && sameSet(next.prefixes, this.current.prefixes);
    if (same) return;
    const previous = this.current;
    this.current = next;
    this.log.info({ tools: next.tools.length, prompts: next.prompts.length, resources: next.resources.length, version: next.version }, 'catalog changed');
    for (const listener of this.listeners) listener(next, previous);
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
