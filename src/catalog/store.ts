// Holds the current catalog and rebuilds it when the pool reports new tool lists; listeners
// hear only real changes (a rebuild with the same content keeps the old version).
import type { Logger } from 'pino';
import { buildCatalog, EMPTY_CATALOG, type BackendTools, type Catalog } from './catalog.js';
import type { NamingOptions } from './naming.js';

export type CatalogListener = (next: Catalog, previous: Catalog) => void;

export class CatalogStore {
  private current: Catalog = EMPTY_CATALOG;
  private readonly listeners = new Set<CatalogListener>();
  private lastCollisions = '';

  constructor(private readonly naming: NamingOptions, private readonly log: Logger) {}

  get catalog(): Catalog {
    return this.current;
  }

  subscribe(listener: CatalogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  update(backends: readonly BackendTools[]): void {
    const next = buildCatalog(backends, this.naming, this.current.version + 1);
    const collisions = next.collisions.join('\n');
    if (collisions !== this.lastCollisions) {
      for (const line of next.collisions) this.log.warn({ event: 'name_collision' }, line);
      this.lastCollisions = collisions;
    }
    if (next.key === this.current.key) return;
    const previous = this.current;
    this.current = next;
    this.log.info({ tools: next.tools.length, version: next.version }, 'catalog changed');
    for (const listener of this.listeners) listener(next, previous);
  }
}
